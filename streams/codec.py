"""Kafka payloads: the input ticket (validated with msgspec) and the JSON we publish.

``decode_ticket`` never raises on bad input: it returns the reason, which becomes the
dead-letter record, so one malformed message can never stop the consumer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

__all__ = ["Caller", "Ticket", "decode_ticket", "encode", "loads_ticket_id"]

TicketId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Caller(msgspec.Struct, frozen=True):
    """Who called; unknown keys are tolerated so that call centres may add fields."""

    name: str | None = None
    phone: str | None = None


class Ticket(msgspec.Struct, frozen=True):
    """An input ticket, version 1 of the schema in ARCHITECTURE.md."""

    ticket_id: TicketId
    received_at: datetime
    channel: str
    body: str
    title: str | None = None
    caller: Caller | None = None
    location: str | None = None


_decoder = msgspec.json.Decoder(Ticket)
_encoder = msgspec.json.Encoder()


def decode_ticket(raw: bytes | None, max_body_chars: int) -> Ticket | str:
    """The ticket in ``raw``, or the reason it is refused (a short, log-safe string)."""
    if raw is None:
        return "empty message (no value)"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8: invalid byte at position {exc.start}"
    try:
        ticket = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return f"schema: {exc}"
    except msgspec.DecodeError as exc:
        return f"invalid JSON: {exc}"
    if ticket.received_at.tzinfo is None:
        return "schema: received_at has no UTC offset - at `$.received_at`"
    if not ticket.ticket_id.strip():
        return "schema: ticket_id is blank - at `$.ticket_id`"
    if not ticket.body.strip():
        return "schema: body is empty - at `$.body`"
    if len(ticket.body) > max_body_chars:
        return f"body too long: {len(ticket.body)} characters, limit {max_body_chars}"
    return ticket


def loads_ticket_id(raw: bytes) -> str | None:
    """The ticket_id of a line when it is a JSON object holding one, for use as a Kafka key."""
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if isinstance(value, dict):
        ticket_id = value.get("ticket_id")
        if isinstance(ticket_id, str) and ticket_id:
            return ticket_id
    return None


def encode(value: object) -> bytes:
    """JSON for publishing: UTF-8, Chinese kept as is."""
    return _encoder.encode(value)
