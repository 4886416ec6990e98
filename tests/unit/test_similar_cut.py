"""Published: a rebuilt `similar` window keeps exactly the tickets published before the point
it follows the stage's output from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from triage.adapters.hotspot_tracker import Published
from triage.core.hotspots import Sighting

T = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _seen(ticket_id: str, at: datetime) -> Sighting:
    return Sighting(ticket_id, at, "标题", "内容")


def test_keeps_what_came_before_and_the_published_of_the_same_moment() -> None:
    published = Published.after([("a", T - timedelta(seconds=5)), ("b", T), ("c", T)])
    assert published.at == T and published.ids == frozenset({"b", "c"})
    assert published.holds(_seen("old", T - timedelta(milliseconds=1)))
    assert published.holds(_seen("b", T))
    # the same moment, not published yet: it comes from the topic, after b and c
    assert not published.holds(_seen("d", T))
    assert not published.holds(_seen("e", T + timedelta(milliseconds=1)))


def test_compares_at_the_millisecond_mongodb_keeps() -> None:
    precise = T + timedelta(microseconds=456)
    published = Published.after([("b", precise)])
    assert published.holds(_seen("b", T))  # as read back from MongoDB
    assert not published.holds(_seen("x", T + timedelta(milliseconds=1)))
