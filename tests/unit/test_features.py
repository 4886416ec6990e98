"""Character n-gram TF-IDF: the numpy path gives scikit-learn's figures."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.core.domain import TicketText
from triage.core.features import (
    CharNgrams,
    char_keys,
    decode_key,
    doc_string,
    document_frequencies,
    encode_term,
)

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


def test_document_frequencies_count_each_ticket_once() -> None:
    """Repeats inside one ticket count once; keys come out sorted; same as counting by sets."""
    strings = [doc_string(d, 3) for d in DOCS] * 2 + ["噪音噪音噪音", ""]
    keys, rows = char_keys(strings, 1, 3)
    vocab, df = document_frequencies(keys, rows)
    expected: dict[int, int] = {}
    for row in range(len(strings)):
        for key in set(keys[rows == row].tolist()):
            expected[key] = expected.get(key, 0) + 1
    assert vocab.tolist() == sorted(expected)
    assert df.tolist() == [expected[k] for k in sorted(expected)]
    empty = document_frequencies(np.empty(0, np.uint64), np.empty(0, np.int64))
    assert len(empty[0]) == len(empty[1]) == 0


def test_min_df_matches_scikit_learn() -> None:
    """With min_df 2, the same vocabulary and idf as TfidfVectorizer(min_df=2)."""
    docs = [*DOCS, TicketText("噪音", "夜间噪音"), TicketText("", "公交线路")]
    fe = CharNgrams.candidates(docs, 1, 3, 2, 2)
    ref = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False, min_df=2
    )
    ref.fit([doc_string(d, 2) for d in docs])
    terms = [fe.term(i) for i in range(fe.size)]
    assert sorted(ref.vocabulary_) == sorted(terms)
    expected = [ref.idf_[ref.vocabulary_[t]] for t in terms]
    assert np.allclose(fe.idf, expected, atol=1e-5)
