"""The hotline's own queue, as an agent works it: tickets in review (the model was not sure)
and tickets a department returned, oldest clock first, each with the hotline's deadline to
dispatch it (working hours from arrival, or from the return) and what to dispatch it to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from triage.core.counters import LOCAL_TZ
from triage.core.deadlines import Deadlines, add_working_hours
from triage.core.hotspots.titles import ticket_title

__all__ = ["REVIEW_STATUSES", "review_queue"]

REVIEW_STATUSES = ("review", "returned")


def _last_return(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    for entry in reversed(doc.get("status_history") or []):
        if entry.get("status") == "returned":
            record: Mapping[str, Any] = entry.get("record") or {}
            return record
    return {}


def _suggested(doc: Mapping[str, Any], returned: Mapping[str, Any]) -> str | None:
    if returned.get("suggested_department"):
        return str(returned["suggested_department"])
    decisions = doc.get("decisions") or [{}]
    top = decisions[-1].get("top_k") or []
    first = top[0] if top else {}
    return first.get("department") if isinstance(first, Mapping) else None


def review_queue(
    docs: Sequence[Mapping[str, Any]], hotline: Deadlines, now: datetime
) -> dict[str, Any]:
    """Rows of the review queue, oldest first; ``hotline`` is the hotline's own deadline."""
    rows: list[dict[str, Any]] = []
    for doc in docs:
        received = doc.get("received_at")
        if not isinstance(received, datetime) or doc.get("status") not in REVIEW_STATUSES:
            continue
        returned = _last_return(doc) if doc.get("status") == "returned" else {}
        since = doc.get("returned_at") if returned else received
        if not isinstance(since, datetime):
            since = received
        due = add_working_hours(since, hotline.accept_hours)
        rows.append(
            {
                "ticket_id": doc["_id"],
                "status": doc.get("status"),
                "title": ticket_title(doc.get("title"), doc.get("body")),
                "channel": doc.get("channel"),
                "district": doc.get("district"),
                "received_at": received.astimezone(LOCAL_TZ).isoformat(),
                "waiting_since": since.astimezone(LOCAL_TZ).isoformat(),
                "age_hours": round((now - since).total_seconds() / 3600, 1),
                "due": due.astimezone(LOCAL_TZ).isoformat(),
                "overdue": due <= now,
                "returned_by": doc.get("department") if returned else None,
                "return_reason": returned.get("reason"),
                "suggested_department": _suggested(doc, returned),
            }
        )
    rows.sort(key=lambda r: (r["waiting_since"], r["ticket_id"]))
    return {
        "now": now.astimezone(LOCAL_TZ).isoformat(),
        "deadline_hours": hotline.accept_hours,
        "overdue": sum(1 for r in rows if r["overdue"]),
        "tickets": rows,
    }
