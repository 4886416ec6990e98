"""Character n-gram TF-IDF: the numpy path gives scikit-learn's figures."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.core.domain import TicketText
from triage.core.features import CharNgrams, decode_key, doc_string, encode_term

DOCS = [
    TicketText("噪音扰民", "小区夜间施工噪音扰民，影响休息。"),
    TicketText("", "公交线路调整后，上班很不方便。"),
    TicketText("拖欠工资", "公司拖欠工资三个月，要求处理。𠀀"),
    TicketText("", "噪音"),
]


def test_keys_round_trip() -> None:
    """An n-gram packs into one integer and unpacks to the same characters, astral ones too."""
    for term in ("噪", "噪音", "噪音扰", "𠀀a"):
        assert decode_key(encode_term(term)) == term


def test_matches_scikit_learn_tfidf() -> None:
    """Same vocabulary, idf and row values as TfidfVectorizer(char, 1-3, sublinear)."""
    fe = CharNgrams.candidates(DOCS, 1, 3, 2, 1)
    ref = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False)
    expected = ref.fit_transform([doc_string(d, 2) for d in DOCS])
    assert sorted(ref.vocabulary_) == sorted(fe.term(i) for i in range(fe.size))
    got = fe.transform(DOCS)
    order = [ref.vocabulary_[fe.term(i)] for i in range(fe.size)]
    assert np.allclose(got.toarray(), expected.toarray()[:, order], atol=1e-6)


def test_unknown_ngrams_are_ignored_and_empty_rows_allowed() -> None:
    """Text with no known n-gram gives an all-zero row, not an error."""
    fe = CharNgrams.candidates(DOCS, 1, 2, 1, 1)
    x = fe.transform([TicketText("", "xyz"), DOCS[3]])
    assert x.shape == (2, fe.size)
    assert x[0].nnz == 0 and x[1].nnz > 0


def test_select_keeps_chosen_columns() -> None:
    """Selecting columns keeps exactly those n-grams."""
    fe = CharNgrams.candidates(DOCS, 1, 2, 1, 1)
    picked = np.array([3, 1, 7])
    sub = fe.select(picked)
    assert {sub.term(i) for i in range(sub.size)} == {fe.term(int(i)) for i in picked}
