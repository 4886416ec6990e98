"""The events consumer's dead letters with the in-memory store and producer: a refused event
is dead-lettered once, whichever way it comes back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from streams.batch import Message
from streams.events import apply_message
from streams.exceptions import ProduceError
from streams.producer import MemoryProducer
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MemoryTicketStore
from triage.core.settings import Settings

SETTINGS = Settings(topic_prefix="t")
TOPIC = SETTINGS.topics.events


def _store() -> MemoryTicketStore:
    store = MemoryTicketStore()
    store.docs["T1"] = {
        "_id": "T1",
        "received_at": datetime(2026, 1, 1, tzinfo=UTC),
        "status": "routed",
        "department": "city-housing",
        "decisions": [{"decision_id": "d1", "kind": "routed", "model_version": "v1"}],
        "status_history": [{"status": "routed", "by": "triage"}],
    }
    return store


def _message(offset: int, event_id: str, kind: str) -> Message:
    body = {"ticket_id": "T1", "event_id": event_id, "type": kind, "department": "city-housing"}
    return Message(TOPIC, 0, offset, b"T1", json.dumps(body).encode())


async def _apply(store: MemoryTicketStore, producer: MemoryProducer, msg: Message) -> str | None:
    return await apply_message(
        msg, settings=SETTINGS, store=store, producer=producer, registry=load_registry()
    )


async def test_refused_event_redelivered_is_refused_again_without_a_second_dead_letter() -> None:
    """Resolve refused, accept applied, then both redelivered and the resolve sent again at
    a new offset: one dead letter (the first offset's), the ticket accepted, same reason."""
    store, producer = _store(), MemoryProducer()
    first = await _apply(store, producer, _message(0, "e1", "resolve"))
    assert first is not None and "cannot resolve" in first
    assert await _apply(store, producer, _message(1, "e2", "accept")) is None
    with capture_logs() as logs:
        again = [
            await _apply(store, producer, _message(0, "e1", "resolve")),
            await _apply(store, producer, _message(1, "e2", "accept")),
            await _apply(store, producer, _message(7, "e1", "resolve")),
        ]
    assert again == [first, None, first]
    assert store.docs["T1"]["status"] == "accepted"
    dead = producer.topics()[SETTINGS.topics.deadletter]
    assert [dict(d.headers)["source_offset"] for d in dead] == [b"0"]
    assert list(store.deadletters) == [f"{TOPIC}:0:0"]
    assert [e["event"] for e in logs].count("event refused again, dead letter written before") == 2


async def test_refusal_remembered_before_its_dead_letter_is_dead_lettered_on_redelivery() -> None:
    """A crash after the refusal was stored but before its dead letter: the redelivery
    writes the dead letter, once."""
    store, producer = _store(), MemoryProducer(fail_times=1)
    with pytest.raises(ProduceError):  # the broker outage stands for the crash
        await _apply(store, producer, _message(3, "e1", "resolve"))
    assert store.refusals["e1"]["dead_letter"] == {
        "topic": TOPIC,
        "partition": 0,
        "offset": 3,
        "written": False,
    }
    assert SETTINGS.topics.deadletter not in producer.topics()
    for _ in range(2):
        await _apply(store, producer, _message(3, "e1", "resolve"))
    assert len(producer.topics()[SETTINGS.topics.deadletter]) == 1
    assert store.refusals["e1"]["dead_letter"]["written"] is True


async def test_undecodable_event_redelivered_is_not_dead_lettered_twice() -> None:
    """A message that is no event at all, redelivered: its dead letter is already stored."""
    store, producer = _store(), MemoryProducer()
    bad = Message(TOPIC, 0, 5, b"x", b"{not json")
    assert await _apply(store, producer, bad) == await _apply(store, producer, bad)
    assert len(producer.topics()[SETTINGS.topics.deadletter]) == 1
