"""Merging a ticket's best n-grams into phrases an agent can read (pure)."""

from triage.core.domain import Evidence, Span, TicketText
from triage.core.model import merge_evidence


def test_overlapping_ngrams_become_one_phrase_with_summed_weight() -> None:
    terms = [("噪音", 0.5), ("音扰", 0.25), ("扰民", 0.125), ("施工", 1.0)]
    doc = TicketText("施工扰民", "夜间施工噪音扰民，施工不停")
    out = merge_evidence(terms, doc, 5)
    assert out == (
        Evidence("施工", 1.0, (Span("title", 0, 2), Span("body", 2, 4), Span("body", 9, 11))),
        Evidence("噪音扰民", 0.875, (Span("body", 4, 8),)),
        Evidence("扰民", 0.125, (Span("title", 2, 4),)),
    )


def test_only_the_n_heaviest_phrases_are_kept() -> None:
    terms = [("欠薪", 0.9), ("工资", 0.6), ("公司", 0.1)]
    doc = TicketText("", "公司欠薪，工资三个月未发")
    assert [e.term for e in merge_evidence(terms, doc, 2)] == ["欠薪", "工资"]


def test_terms_absent_from_the_text_give_nothing() -> None:
    assert merge_evidence([("噪音", 1.0)], TicketText("", "公司拖欠工资"), 5) == ()
