"""Ticket records as the consumer hands them to the store, for the store's own tests."""

from __future__ import annotations

from datetime import datetime

from triage.adapters.store import TicketRecord
from triage.core.routing import Decision, Suggestion

CHANNELS = ("phone", "web", "app")


def ticket_record(
    tid: str,
    department: str | None,
    received_at: datetime,
    *,
    channel: str = "phone",
    model_version: str = "m-1",
) -> TicketRecord:
    """A ticket routed to ``department`` by ``model_version``, or in review when it is None."""
    decision = Decision(
        decision_id=f"d-{tid}",
        ticket_id=tid,
        kind="routed" if department else "review",
        department=department,
        label="城乡建设",
        confidence=0.9 if department else 0.3,
        threshold=0.5,
        suggestions=(Suggestion("城乡建设", 0.9, "city-housing"),),
        evidence=(),
        model_version=model_version,
        district=None,
    )
    return TicketRecord(tid, received_at, channel, "", "正文", None, decision)
