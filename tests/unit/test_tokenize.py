"""Chinese word segmentation with the project's user dictionary."""

from triage.core.tokenize import tokenize, user_dict_hash


def test_user_dictionary_terms_stay_whole() -> None:
    """Government and Foshan place terms from the user dictionary are single tokens."""
    words = tokenize("顺德区大良街道夜间施工噪音扰民，住建局不处理，还拖欠工资")
    for term in ("顺德区", "大良街道", "夜间施工", "噪音扰民", "住建局", "拖欠工资"):
        assert term in words


def test_whitespace_is_not_a_token() -> None:
    """Spaces and line breaks separate words but are not words."""
    assert all(w.strip() for w in tokenize("小区 停车\n收费"))


def test_dictionary_hash_is_stable() -> None:
    """The hash recorded in word-feature artifacts does not change between calls."""
    assert user_dict_hash() == user_dict_hash()
    assert len(user_dict_hash()) == 16
