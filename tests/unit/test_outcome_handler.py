"""The event handler with the in-memory store and producer."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest

from streams.producer import MemoryProducer
from triage.adapters.outcome_handler import (
    EventIdReused,
    EventIn,
    EventResult,
    TicketNotFound,
    handle_event,
)
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MemoryTicketStore
from triage.core.outcomes import Actor, OutcomeConflict, OutcomeForbidden
from triage.core.settings import Topics

TOPICS = Topics("t")


def _store(status: str = "routed", department: str | None = "city-housing") -> MemoryTicketStore:
    store = MemoryTicketStore()
    store.docs["T1"] = {
        "_id": "T1",
        "received_at": datetime(2026, 1, 1, tzinfo=UTC),
        "channel": "phone",
        "title": "t",
        "body": "b",
        "location": None,
        "status": status,
        "department": department,
        "decisions": [{"decision_id": "d1", "kind": status, "model_version": "v1"}],
        "status_history": [{"status": status, "by": "triage"}],
    }
    return store


async def _send(
    store: MemoryTicketStore, producer: MemoryProducer, event: EventIn, actor: Actor
) -> EventResult:
    return await handle_event(
        "T1", event, actor, store=store, producer=producer, registry=load_registry(), topics=TOPICS
    )


async def test_replayed_event_changes_nothing() -> None:
    """The same event twice: one timeline entry, one event record, the second a duplicate."""
    store, producer = _store(), MemoryProducer()
    dept = Actor("department", "city-housing")
    first = await _send(store, producer, EventIn("e1", "accept"), dept)
    second = await _send(store, producer, EventIn("e1", "accept"), dept)
    assert (first.duplicate, second.duplicate) == (False, True)
    assert len(store.docs["T1"]["status_history"]) == 2
    assert list(store.events) == ["e1"]


async def test_event_record_lost_in_a_crash_is_repaired() -> None:
    """Ticket updated but event record never written: a redelivery writes it, applies nothing."""
    store, producer = _store(), MemoryProducer()
    dept = Actor("department", "city-housing")
    await _send(store, producer, EventIn("e1", "accept"), dept)
    store.events.clear()
    again = await _send(store, producer, EventIn("e1", "accept"), dept)
    assert again.duplicate
    assert "e1" in store.events
    assert store.docs["T1"]["revision"] == 1


async def test_reassignment_publishes_once_with_assignment_id() -> None:
    """A reassignment lands on the new department's topic; a publish that failed is redone."""
    store, producer = _store("review", None), MemoryProducer(fail_times=1)
    agent = Actor("agent")
    event = EventIn("e2", "reassign", department="city-transport")
    with pytest.raises(Exception, match="told to fail"):
        await _send(store, producer, event, agent)
    assert store.docs["T1"]["status"] == "reassigned"
    again = await _send(store, producer, event, agent)
    assert again.duplicate
    sent = producer.topics()["t.routed.city-transport"]
    assert len(sent) == 1
    assert dict(sent[0].headers)["decision_id"].decode() == again.assignment_id
    await _send(store, producer, event, agent)
    assert len(producer.sent) == 1


async def test_unknown_ticket_and_reused_event_id() -> None:
    """An unknown ticket is TicketNotFound; an event id reused for another event conflicts."""
    store, producer = _store(), MemoryProducer()
    dept = Actor("department", "city-housing")
    with pytest.raises(TicketNotFound):
        await handle_event(
            "nope",
            EventIn("e0", "accept"),
            dept,
            store=store,
            producer=producer,
            registry=load_registry(),
            topics=TOPICS,
        )
    await _send(store, producer, EventIn("e1", "accept"), dept)
    with pytest.raises(OutcomeConflict, match="already used"):
        await _send(store, producer, EventIn("e1", "resolve"), dept)


async def test_refused_event_is_refused_again_after_the_ticket_moved_on() -> None:
    """A refused resolve, then a legal accept: the resolve sent again is refused with the
    first reason and status class, remembered, and leaves the ticket accepted."""
    store, producer = _store(), MemoryProducer()
    dept = Actor("department", "city-housing")
    with pytest.raises(OutcomeConflict) as first:
        await _send(store, producer, EventIn("e1", "resolve"), dept)
    assert not first.value.repeated and first.value.refusal is not None
    await _send(store, producer, EventIn("e2", "accept"), dept)
    with pytest.raises(OutcomeConflict) as again:
        await _send(store, producer, EventIn("e1", "resolve"), dept)
    assert again.value.repeated and again.value.reason == first.value.reason
    assert type(again.value) is type(first.value)
    assert store.docs["T1"]["status"] == "accepted"
    assert list(store.events) == ["e2"] and list(store.refusals) == ["e1"]


async def test_forbidden_refusal_keeps_its_class() -> None:
    """A department acting on a ticket not its own is refused as forbidden, and again so."""
    store, producer = _store(), MemoryProducer()
    other = Actor("department", "city-transport")
    for repeated in (False, True):
        with pytest.raises(OutcomeForbidden) as refused:
            await _send(store, producer, EventIn("e1", "accept"), other)
        assert refused.value.repeated is repeated


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (EventIn("e1", "accept"), EventIn("e1", "accept", reason="note")),
        (EventIn("e1", "resolve", reason="a"), EventIn("e1", "resolve", reason="b")),
        (EventIn("e1", "return", reason="x"), EventIn("e1", "return", reason="y")),
        (
            EventIn("e1", "return", reason="x", suggested_department="city-water"),
            EventIn("e1", "return", reason="x", suggested_department="city-transport"),
        ),
    ],
)
async def test_event_id_reused_with_other_content_conflicts(
    first: EventIn, second: EventIn
) -> None:
    """The same event id with other canonical fields is 409 (never remembered), whether the
    first was applied or refused; the first stays as it was."""
    store, producer = _store(), MemoryProducer()
    dept = Actor("department", "city-housing")
    with contextlib.suppress(OutcomeConflict):
        await _send(store, producer, first, dept)
    before = (dict(store.events), dict(store.refusals), store.docs["T1"]["status"])
    with pytest.raises(EventIdReused):
        await _send(store, producer, second, dept)
    assert (dict(store.events), dict(store.refusals), store.docs["T1"]["status"]) == before


async def test_reassignment_to_another_department_under_a_used_id_conflicts() -> None:
    """A reassignment sent again to a different department is 409, not a duplicate."""
    store, producer = _store("review", None), MemoryProducer()
    agent = Actor("agent")
    await _send(store, producer, EventIn("e1", "reassign", department="city-water"), agent)
    with pytest.raises(EventIdReused):
        await _send(store, producer, EventIn("e1", "reassign", department="city-transport"), agent)
    again = await _send(store, producer, EventIn("e1", "reassign", department="city-water"), agent)
    assert again.duplicate and store.docs["T1"]["department"] == "city-water"
