"""Batch processing against the in-memory store and producer: routing, dead letters,
idempotent replays, and delivery that retries without losing what was already done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from streams.batch import Message, deliver, plan_batch
from streams.consumer import Backoff
from streams.producer import MemoryProducer, Outgoing
from tests.fakes import analyzer
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MemoryTicketStore
from triage.core.errors import StoreUnavailableError
from triage.core.settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SETTINGS = Settings(topic_prefix="t")
REGISTRY = load_registry()


def _messages(lines: list[bytes], start: int = 0) -> list[Message]:
    return [Message("t.tickets", 0, start + i, None, line) for i, line in enumerate(lines)]


def _lines() -> tuple[list[bytes], list[bytes]]:
    good = SAMPLES.joinpath("tickets.jsonl").read_bytes().splitlines()
    bad = SAMPLES.joinpath("malformed.jsonl").read_bytes().split(b"\n")[:-1]
    return good, bad


async def _run(messages: list[Message], store: MemoryTicketStore, producer: MemoryProducer) -> None:
    plan = await plan_batch(messages, analyzer=analyzer(), registry=REGISTRY, settings=SETTINGS)
    await deliver(plan, store=store, producer=producer)


def _routing(producer: MemoryProducer) -> list[Outgoing]:
    """What reached the departments and the review queue (not the hot-spot stage's copy)."""
    return [r for r in producer.sent if r.topic != SETTINGS.topics.decided]


async def test_every_message_is_accounted_for() -> None:
    """Good tickets are stored and published once; each malformed line is a dead letter."""
    good, bad = _lines()
    store, producer = MemoryTicketStore(), MemoryProducer()
    await _run(_messages(good + bad), store, producer)
    topics = producer.topics()
    assert len(store.docs) == len(good)
    assert len(store.deadletters) == len(bad)
    assert len(topics["t.deadletter"]) == len(bad)
    published = sum(len(v) for k, v in topics.items() if k not in ("t.deadletter", "t.decided"))
    assert published == len(good)
    assert len(topics["t.decided"]) == len(good)  # each once more, for the hot-spot stage


async def test_dead_letter_keeps_bytes_and_source() -> None:
    """A dead letter carries the original bytes, the reason and the source position."""
    _, bad = _lines()
    producer = MemoryProducer()
    await _run(_messages([bad[10]], start=41), MemoryTicketStore(), producer)
    (record,) = producer.sent
    headers = dict(record.headers)
    assert record.value == bad[10]
    assert headers["reason"].startswith(b"not UTF-8")
    assert (headers["source_topic"], headers["source_offset"]) == (b"t.tickets", b"41")


async def test_replay_changes_nothing_in_the_store() -> None:
    """The same batch twice leaves one document and one decision per ticket."""
    good, _ = _lines()
    store = MemoryTicketStore()
    await _run(_messages(good[:50]), store, MemoryProducer())
    before = {k: [d["decision_id"] for d in v["decisions"]] for k, v in store.docs.items()}
    await _run(_messages(good[:50]), store, MemoryProducer())
    after = {k: [d["decision_id"] for d in v["decisions"]] for k, v in store.docs.items()}
    assert before == after
    assert all(len(ids) == 1 for ids in after.values())


async def test_routed_message_carries_ids_and_masked_text() -> None:
    """Routed values and headers carry ticket_id and decision_id; digits runs are masked."""
    good, _ = _lines()
    with_phone = next(
        line
        for line in good
        if b"1" in json.loads(line)["body"].encode()
        and any(c.isdigit() for c in json.loads(line)["body"])
    )
    producer, store = MemoryProducer(), MemoryTicketStore()
    await _run(_messages([with_phone]), store, producer)
    (record,) = _routing(producer)
    value = json.loads(record.value)
    assert dict(record.headers)["decision_id"].decode() == value["decision_id"]
    assert record.key == value["ticket_id"].encode()
    doc = store.docs[value["ticket_id"]]
    assert not any(ch.isdigit() for ch in doc["body"].replace("12345", ""))


async def test_duplicates_within_a_batch_keep_the_last() -> None:
    """A ticket twice in one batch is decided once, from its later copy."""
    good, _ = _lines()
    first = json.loads(good[0])
    second = {**first, "body": first["body"] + "补充：噪音很大。"}
    lines = [json.dumps(first).encode(), json.dumps(second).encode()]
    store, producer = MemoryTicketStore(), MemoryProducer()
    await _run(_messages(lines), store, producer)
    assert len(_routing(producer)) == 1
    assert store.docs[first["ticket_id"]]["body"].endswith("噪音很大。")


async def test_failed_store_is_retried_without_republishing() -> None:
    """After a store outage, the retry writes the store and does not publish again."""
    good, _ = _lines()
    store, producer = MemoryTicketStore(down=True), MemoryProducer()
    plan = await plan_batch(
        _messages(good[:10]), analyzer=analyzer(), registry=REGISTRY, settings=SETTINGS
    )
    done: set[str] = set()
    with pytest.raises(StoreUnavailableError):
        await deliver(plan, store=store, producer=producer, done=done)
    assert done == {"produce"}
    # the hot-spot stage hears of a ticket only once it is stored
    assert [r for r in producer.sent if r.topic == "t.decided"] == []
    store.down = False
    await deliver(plan, store=store, producer=producer, done=done)
    assert len(_routing(producer)) == 10
    assert len(producer.sent) == 20
    assert len(store.docs) == 10


async def test_dead_letters_are_logged_without_content() -> None:
    """The dead-letter log line names the source position and reason, never the body."""
    _, bad = _lines()
    with capture_logs() as logs:
        await _run(_messages([bad[4]]), MemoryTicketStore(), MemoryProducer())
    (entry,) = [e for e in logs if e["event"] == "dead letter"]
    assert entry["offset"] == 0 and "body" in entry["reason"]
    assert "下水道" not in json.dumps(entry, ensure_ascii=False)


def test_backoff_doubles_to_ten_seconds() -> None:
    """Retry delays start at 0.5 s, double, stop at 10 s and reset after a success."""
    b = Backoff()
    assert [b.step() for _ in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    b.reset()
    assert b.step() == 0.5
