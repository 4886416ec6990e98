"""The records between the stages: a decided ticket for the hot-spot stage (`<prefix>.decided`)
and a ticket with its hot spot for the replicas answering `similar` (`<prefix>.detected`).

Both carry the masked text the store keeps, never the caller: a decided ticket carries a hash
of the caller (``caller_key``), which the hot-spot stage counts and never stores.
"""

from __future__ import annotations

import time
from datetime import datetime

import msgspec

from streams.codec import encode
from streams.producer import Outgoing
from triage.adapters.store import TicketRecord
from triage.core.hotspots import Sighting, caller_key

__all__ = [
    "DecidedTicket",
    "decided_message",
    "decode_decided",
    "decode_detected",
    "detected_message",
]


class DecidedTicket(msgspec.Struct, frozen=True):
    """A ticket as the hot-spot stage reads it; ``hotspot_id`` once the stage assigned one."""

    ticket_id: str
    received_at: datetime
    title: str
    body: str
    department: str
    caller: str | None = None
    hotspot_id: str | None = None
    # the partition of the tickets topic it came from: the stage merges them in time order
    source: int = 0
    # when routing published it (epoch seconds): the stage logs how long detection took after
    decided_at: float | None = None

    def sighting(self) -> Sighting:
        return Sighting(
            ticket_id=self.ticket_id,
            received_at=self.received_at,
            title=self.title,
            body=self.body,
            caller=self.caller,
            department=self.department,
        )


_decoder = msgspec.json.Decoder(DecidedTicket)


def decided_message(
    record: TicketRecord, caller: str | None, topic: str, source: int = 0
) -> Outgoing:
    """``record`` for the hot-spot stage; ``caller`` (phone or name) travels as a hash;
    ``source`` is the partition of the tickets topic it came from."""
    decision = record.decision
    routed = decision.kind == "routed" and decision.department is not None
    value = DecidedTicket(
        ticket_id=record.ticket_id,
        received_at=record.received_at,
        title=record.title,
        body=record.body,
        department=decision.department if routed and decision.department else "review",
        caller=caller_key(caller, record.ticket_id) if caller else None,
        source=source,
        decided_at=round(time.time(), 3),
    )
    return Outgoing(topic, record.ticket_id.encode(), encode(value))


def detected_message(ticket: DecidedTicket, hotspot_id: str, topic: str) -> Outgoing:
    """A ticket and its stored hot spot (no caller: readers need only the text)."""
    value = msgspec.structs.replace(ticket, caller=None, hotspot_id=hotspot_id)
    return Outgoing(topic, ticket.ticket_id.encode(), encode(value))


def decode_decided(raw: bytes | None) -> DecidedTicket | str:
    """The ticket, or why it cannot be read."""
    try:
        return _decoder.decode(raw or b"")
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return f"invalid decided ticket: {exc}"


def decode_detected(raw: bytes | None) -> DecidedTicket | str:
    """A ticket with its hot spot, or why it cannot be read."""
    ticket = decode_decided(raw)
    if isinstance(ticket, DecidedTicket) and ticket.hotspot_id is None:
        return "detected ticket without hotspot_id"
    return ticket
