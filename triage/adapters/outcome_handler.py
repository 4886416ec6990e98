"""Applies one outcome event to a ticket: the one handler behind HTTP and `hotline.events`.

Idempotent by ``event_id``: the ticket is updated first (guarded by its revision), then the
event record is written; a redelivery finds the event in either place and changes nothing.
A refused event is remembered too (``refused_events``, apart from the applied ones that
statistics, timelines and exports read), before the refusal is answered or dead-lettered: a
redelivery after a crash or a rebalance, or a client's retry, gets the same refusal and is
never evaluated again against a ticket that has moved on meanwhile. An ``event_id`` names one
event (triage.core.event_identity): sent again with other content, it is refused with 409.
A reassignment publishes the ticket on the new department's routed topic with a new
assignment id, derived from the event id so a redelivery republishes the same id.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

from streams.codec import encode
from streams.producer import Outgoing, Producer
from triage.adapters.store import EventWrite, TicketStore
from triage.core.departments import Registry
from triage.core.event_identity import Canonical, canonical, canonical_of_record
from triage.core.outcomes import (
    Actor,
    OutcomeConflict,
    OutcomeError,
    OutcomeForbidden,
    OutcomeInvalid,
    transition,
)
from triage.core.settings import Topics
from triage.core.settlement import department_labels

__all__ = [
    "REFUSAL_KINDS",
    "EventIdReused",
    "EventIn",
    "EventRaced",
    "EventResult",
    "TicketNotFound",
    "assignment_id",
    "handle_event",
]

# Transient conflicts (two events racing on one ticket) are retried this many times.
_ATTEMPTS = 3

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class EventIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An outcome event as sent over HTTP or Kafka (``ticket_id`` on Kafka only)."""

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]
    type: Literal["accept", "return", "resolve", "reassign"]
    department: Code | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    suggested_department: Code | None = None
    # With a reassign to a department of several labels (a merged bureau): which one is meant.
    label: Code | None = None
    ticket_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class TicketNotFound(OutcomeError):
    """No ticket with this id."""


class EventIdReused(OutcomeConflict):
    """The ``event_id`` names another event already; not remembered, being about the id."""


class EventRaced(OutcomeConflict):
    """Other events kept changing the ticket; not remembered, so sending it again may pass."""


# A remembered refusal is answered again as the same exception, hence the same HTTP status.
REFUSAL_KINDS: dict[str, type[OutcomeError]] = {
    "not_found": TicketNotFound,
    "forbidden": OutcomeForbidden,
    "invalid": OutcomeInvalid,
    "conflict": OutcomeConflict,
    "refused": OutcomeError,
}


@dataclass(frozen=True, slots=True)
class EventResult:
    ticket_id: str
    event_id: str
    type: str
    status: str
    department: str | None
    duplicate: bool
    assignment_id: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "ticket_id": self.ticket_id,
            "event_id": self.event_id,
            "type": self.type,
            "status": self.status,
            "department": self.department,
            "duplicate": self.duplicate,
            "assignment_id": self.assignment_id,
        }


def assignment_id(ticket_id: str, event_id: str) -> str:
    return hashlib.sha256(f"{ticket_id}\x00{event_id}".encode()).hexdigest()[:32]


async def handle_event(
    ticket_id: str,
    event: EventIn,
    actor: Actor,
    *,
    store: TicketStore,
    producer: Producer,
    registry: Registry,
    topics: Topics,
    at: datetime | None = None,
) -> EventResult:
    """Apply ``event`` to the ticket, or raise an OutcomeError saying why it is refused.

    ``at`` is when it happened, for a simulation replaying a day (scripts/working_centre.py);
    the service always takes the time of arrival. A refusal is remembered under the event id
    before it is raised (its ``refusal`` then holds the record, ``repeated`` whether it was
    remembered before), except EventIdReused and EventRaced.
    """
    body = canonical(
        ticket_id=ticket_id,
        event_type=event.type,
        actor=actor,
        target=event.department,
        reason=event.reason,
        suggested=event.suggested_department,
        label=event.label,
    )
    # Both looked up at once: a new event pays one round trip for them, not two.
    stored, refused = await asyncio.gather(
        store.find_event(event.event_id), store.find_refusal(event.event_id)
    )
    if stored is not None:
        return await _replayed(stored, body, event, store, producer, topics)
    if refused is not None:
        raise _refusal(refused, body, event.event_id, repeated=True)
    try:
        _check_label(event, registry)
        return await _apply(ticket_id, event, actor, body, store, producer, registry, topics, at)
    except (EventIdReused, EventRaced):
        raise
    except OutcomeError as exc:
        kind = next(k for k, cls in REFUSAL_KINDS.items() if isinstance(exc, cls))
        record = {
            "_id": event.event_id,
            "ticket_id": ticket_id,
            "body": body,
            "kind": kind,
            "reason": exc.reason,
            "field": exc.field,
            "at": datetime.now(UTC),
            # Set by the events consumer to the message it dead-letters (see streams.events).
            "dead_letter": None,
        }
        earlier = await store.record_refusal(record)
        # Another delivery of this id may have been refused first: its refusal stands.
        raise _refusal(
            earlier or record, body, event.event_id, repeated=earlier is not None
        ) from None


def _refusal(
    refused: dict[str, Any], body: Canonical, event_id: str, *, repeated: bool
) -> OutcomeError:
    """The remembered refusal as the exception to raise (EventIdReused for another body)."""
    if refused.get("body") != body:
        return EventIdReused(f"event_id {event_id!r} was already used for another event")
    error = REFUSAL_KINDS.get(str(refused.get("kind")), OutcomeError)(
        str(refused["reason"]), field=refused.get("field")
    )
    error.refusal = refused
    error.repeated = repeated
    return error


async def _apply(
    ticket_id: str,
    event: EventIn,
    actor: Actor,
    body: Canonical,
    store: TicketStore,
    producer: Producer,
    registry: Registry,
    topics: Topics,
    at: datetime | None,
) -> EventResult:
    known = frozenset(d.code for d in registry.departments)
    for _ in range(_ATTEMPTS):
        doc = await store.get(ticket_id)
        if doc is None:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        for entry in doc.get("status_history", []):
            if entry.get("event_id") == event.event_id:
                # Applied before a crash kept its record from being written: write it now.
                await store.record_event(entry["record"])
                return await _replayed(entry["record"], body, event, store, producer, topics)
        step = transition(
            status=doc["status"],
            department=doc.get("department"),
            event_type=event.type,
            actor=actor,
            known_departments=known,
            target=event.department,
            reason=event.reason,
            suggested=event.suggested_department,
        )
        now = at or datetime.now(UTC)
        assigned = assignment_id(ticket_id, event.event_id) if event.type == "reassign" else None
        record: dict[str, Any] = {
            "event_id": event.event_id,
            "ticket_id": ticket_id,
            "type": event.type,
            "role": actor.role,
            "actor_department": actor.department,
            "reason": event.reason,
            "suggested_department": event.suggested_department,
            "label": event.label,
            "from_status": step.previous_status,
            "to_status": step.status,
            "from_department": step.previous_department,
            "department": step.department,
            "assignment_id": assigned,
            "published": assigned is None,
            "at": now,
        }
        history = {
            "status": step.status,
            "at": now,
            "by": actor.role,
            "event": event.type,
            "event_id": event.event_id,
            "department": step.department,
            "record": record,
        }
        assignment = None
        if assigned is not None:
            assignment = {
                "assignment_id": assigned,
                "department": step.department,
                "from_department": step.previous_department,
                "label": event.label,
                "event_id": event.event_id,
                "at": now,
            }
        write = EventWrite(
            ticket_id=ticket_id,
            event=record,
            revision=int(doc.get("revision", 0)),
            status=step.status,
            department=step.department,
            history=history,
            assignment=assignment,
        )
        if await store.apply_event(write):
            if assigned is not None:
                await _publish(doc, record, producer, topics)
                await store.mark_published(event.event_id)
            return _result(record, duplicate=False)
    raise EventRaced("the ticket changed while the event was applied; send it again")


def _check_label(event: EventIn, registry: Registry) -> None:
    """A stated label goes with a reassignment, and is one the target department handles."""
    if event.label is None:
        return
    if event.type != "reassign" or event.department is None:
        raise OutcomeInvalid("a label is stated only with a reassign", field="label")
    handles = department_labels(registry, event.department)
    if event.label not in handles:
        raise OutcomeInvalid(
            f"department {event.department!r} handles {', '.join(handles) or 'no label'}, "
            f"not {event.label!r}",
            field="label",
        )


async def _replayed(
    stored: dict[str, Any],
    body: Canonical,
    event: EventIn,
    store: TicketStore,
    producer: Producer,
    topics: Topics,
) -> EventResult:
    if canonical_of_record(stored) != body:
        raise EventIdReused(f"event_id {event.event_id!r} was already used for another event")
    if not stored.get("published", True):
        doc = await store.get(stored["ticket_id"])
        if doc is not None:
            await _publish(doc, stored, producer, topics)
            await store.mark_published(event.event_id)
    return _result(stored, duplicate=True)


def _result(record: dict[str, Any], *, duplicate: bool) -> EventResult:
    return EventResult(
        ticket_id=record["ticket_id"],
        event_id=record["event_id"],
        type=record["type"],
        status=record["to_status"],
        department=record["department"],
        duplicate=duplicate,
        assignment_id=record["assignment_id"],
    )


async def _publish(
    doc: dict[str, Any], record: dict[str, Any], producer: Producer, topics: Topics
) -> None:
    """The ticket on its new department's topic, shaped as the consumer's routed messages."""
    received = doc.get("received_at")
    assigned: str = record["assignment_id"]
    decisions = doc.get("decisions") or [{}]
    decision = {k: v for k, v in decisions[-1].items() if k != "at"}
    value = {
        "ticket_id": doc["_id"],
        "decision_id": assigned,
        "assignment_id": assigned,
        "received_at": received.isoformat() if isinstance(received, datetime) else received,
        "channel": doc.get("channel"),
        "title": doc.get("title"),
        "body": doc.get("body"),
        "location": doc.get("location"),
        "decision": {**decision, "kind": "reassigned", "department": record["department"]},
    }
    headers = (("ticket_id", str(doc["_id"]).encode()), ("decision_id", assigned.encode()))
    topic = topics.routed(record["department"])
    await producer.send_all([Outgoing(topic, str(doc["_id"]).encode(), encode(value), headers)])
