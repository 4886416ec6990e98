"""The hotline's review queue as an agent works it (triage.core.review_queue)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from triage.core.deadlines import Deadlines
from triage.core.review_queue import review_queue

# A Wednesday in a working week.
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def _doc(tid: str, status: str, hours_ago: float, **extra: Any) -> dict[str, Any]:
    return {
        "_id": tid,
        "status": status,
        "received_at": NOW - timedelta(hours=hours_ago),
        "channel": "phone",
        "title": None,
        "body": "来电反映：桂花路路灯不亮，出行不安全。",
        "decisions": [{"top_k": [{"department": "city-urban", "label": "城乡建设"}]}],
        **extra,
    }


def test_oldest_clock_first_with_deadline_and_overdue() -> None:
    """Review tickets come oldest first, titled from their text, overdue past the deadline."""
    docs = [_doc("b", "review", 2), _doc("a", "review", 50), _doc("c", "routed", 90)]
    q = review_queue(docs, Deadlines(accept_hours=2), NOW)
    assert [r["ticket_id"] for r in q["tickets"]] == ["a", "b"]
    assert q["tickets"][0]["overdue"] and q["overdue"] >= 1
    assert q["tickets"][0]["title"] == "桂花路路灯不亮"
    assert q["tickets"][1]["suggested_department"] == "city-urban"


def test_returned_ticket_waits_from_its_return_with_the_reason() -> None:
    """A returned ticket's clock starts at the return; it names who returned it, why, and the
    department the return suggested."""
    record = {"reason": "不属于本部门职责", "suggested_department": "city-transport"}
    doc = _doc(
        "r",
        "returned",
        200,
        department="city-housing",
        returned_at=NOW - timedelta(minutes=30),
        status_history=[{"status": "routed"}, {"status": "returned", "record": record}],
    )
    [row] = review_queue([doc], Deadlines(accept_hours=7), NOW)["tickets"]
    assert row["age_hours"] == 0.5 and not row["overdue"]
    assert row["returned_by"] == "city-housing"
    assert row["return_reason"] == "不属于本部门职责"
    assert row["suggested_department"] == "city-transport"
