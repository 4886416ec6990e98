"""Deferred counters against SecantusDB: batches counted in memory and written by one flush,
exactly once through crashes at every step of the flush, retries and replays."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.topics import topic_names
from tests.integration.service import Scenario
from tests.records import CHANNELS, ticket_record
from tests.servers import KafkaServer, MongoServer
from tests.tickets import ticket_lines
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MongoTicketStore, TicketRecord
from triage.adapters.store.counters import MongoCounters
from triage.core.settings import Topics
from triage.core.stats import LOCAL_TZ

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=LOCAL_TZ)
DEPARTMENTS = ("city-housing", "city-water", None)


class Crash(Exception):
    """Stands for the process dying between two writes."""


def _record(i: int) -> TicketRecord:
    at = DAY + timedelta(hours=i % 50)
    return ticket_record(
        f"f{i:04d}", DEPARTMENTS[i % 3], at, channel=CHANNELS[i % 3], model_version=f"m-{i % 2}"
    )


BATCHES = [[_record(i) for i in range(start, start + 20)] for start in (0, 20, 40)]


class Stores:
    """Store instances on one database: a new one stands for the process after a restart."""

    def __init__(self, uri: str, db: str) -> None:
        self.uri, self.db = uri, db
        self.opened: list[MongoTicketStore] = []

    async def start(self) -> MongoTicketStore:
        store = MongoTicketStore(self.uri, self.db)
        self.opened.append(store)
        await store.ensure_indexes()
        return store

    async def close(self) -> None:
        for store in self.opened:
            await store.close()


@pytest.fixture
async def stores(mongo_server: MongoServer, tmp_path: Path) -> AsyncIterator[Stores]:
    s = Stores(mongo_server.uri, f"flu{abs(hash(tmp_path)) % 10**8}")
    try:
        yield s
    finally:
        await s.close()


async def _assert_exact(store: MongoTicketStore) -> None:
    tally, _ = await store.counters.tally()
    assert await store.counters.stored() == tally.result()


async def _defer_all(store: MongoTicketStore) -> None:
    for batch in BATCHES:
        await store.upsert_batch(batch, defer_counts=True)


async def _replay_all(store: MongoTicketStore) -> None:
    """What Kafka redelivers after a crash: every batch not committed, counted as before."""
    for batch in BATCHES:
        await store.upsert_batch(batch, defer_counts=True)
    await store.counters.flush()


async def _counter_ops(store: MongoTicketStore) -> set[str]:
    docs = await store.counters.counters.find({"ops": {"$exists": True}}).to_list()
    return {op for d in docs for op in d["ops"]}


def _crash_once(
    counters: MongoCounters, name: str, before: Callable[..., Awaitable[None]] | None = None
) -> None:
    """Make ``counters.<name>`` die the first time it is called (after ``before`` ran)."""
    real = getattr(counters, name)

    async def crash(*args: Any, **kwargs: Any) -> None:
        setattr(counters, name, real)
        if before is not None:
            await before(*args, **kwargs)
        raise Crash

    setattr(counters, name, crash)


async def test_deferred_batches_are_counted_by_one_flush(stores: Stores) -> None:
    """Three batches deferred: nothing counted, three journal entries; one flush writes
    every counter under one operation and clears the journal."""
    store = await stores.start()
    await _defer_all(store)
    assert await store.counters.stored() == {}
    assert await store.counters.journal.count_documents({}) == 3
    assert store.counters.deferred == 3
    await store.counters.flush()
    await _assert_exact(store)
    assert await store.counters.journal.count_documents({}) == 0
    assert store.counters.deferred == 0
    (op,) = await _counter_ops(store)
    batch_ops = {d["stats_op"] for d in await store.tickets.find({}, {"stats_op": 1}).to_list()}
    assert len(batch_ops) == 3 and op not in batch_ops


async def test_a_crash_before_the_flush_is_repaired_by_the_replay(stores: Stores) -> None:
    """The process dies with the counts in memory: the replayed batches count them once."""
    store = await stores.start()
    await _defer_all(store)
    restarted = await stores.start()
    assert await restarted.counters.stored() == {}
    await _replay_all(restarted)
    await _assert_exact(restarted)
    await _replay_all(restarted)  # a second replay changes nothing
    await _assert_exact(restarted)
    assert await restarted.counters.journal.count_documents({}) == 0


async def test_a_batch_never_replayed_is_counted_at_a_later_start(stores: Stores) -> None:
    """Deferred batches whose messages never come back are completed once stale."""
    store = await stores.start()
    await _defer_all(store)
    old = datetime.now(UTC) - timedelta(hours=1)
    await store.counters.journal.update_many({}, {"$set": {"at": old}})
    restarted = await stores.start()
    await _assert_exact(restarted)
    assert await restarted.counters.journal.count_documents({}) == 0


async def test_a_duplicate_of_a_deferred_ticket_counts_once(stores: Stores) -> None:
    """A ticket sent again while its batch's counts wait in memory: the repair leaves that
    batch to the flush instead of counting it a second time."""
    store = await stores.start()
    await store.upsert_batch(BATCHES[0], defer_counts=True)
    await store.upsert_batch(BATCHES[0][:5] + BATCHES[1], defer_counts=True)
    await store.counters.flush()
    await _assert_exact(store)
    assert await store.counters.journal.count_documents({}) == 0


async def test_a_crash_between_the_flush_entry_and_its_counters(stores: Stores) -> None:
    """The flush is journaled, its counters not written: one replayed batch completes the
    whole flush, the others then change nothing."""
    store = await stores.start()
    await _defer_all(store)
    _crash_once(store.counters, "apply")
    with pytest.raises(Crash):
        await store.counters.flush()
    assert await store.counters.stored() == {}
    assert await store.counters.journal.count_documents({"covers": {"$exists": True}}) == 1
    restarted = await stores.start()
    await restarted.upsert_batch(BATCHES[1], defer_counts=True)
    assert restarted.counters.deferred == 1
    await restarted.counters.flush()
    await _assert_exact(restarted)
    assert await restarted.counters.journal.count_documents({}) == 0
    await _replay_all(restarted)
    await _assert_exact(restarted)


async def test_a_crash_in_the_middle_of_the_counter_writes(stores: Stores) -> None:
    """Half the counter documents written under the flush: the repair writes the others
    and the written ones skip it."""
    store = await stores.start()
    await _defer_all(store)
    real = store.counters.apply

    async def half(op: str, counts: dict[str, Any], lasts: Any = None) -> None:
        first = dict(sorted(counts.items())[: len(counts) // 2])
        await real(op, first, lasts)

    _crash_once(store.counters, "apply", half)
    with pytest.raises(Crash):
        await store.counters.flush()
    assert await store.counters.stored() != {}
    restarted = await stores.start()
    await _replay_all(restarted)
    await _assert_exact(restarted)
    assert await restarted.counters.journal.count_documents({}) == 0


async def test_a_crash_after_the_counters_before_the_journal_is_cleared(
    stores: Stores,
) -> None:
    """Counters written, the journal not cleared: the replay counts nothing again."""
    store = await stores.start()
    await _defer_all(store)
    _crash_once(store.counters, "_close")
    with pytest.raises(Crash):
        await store.counters.flush()
    await _assert_exact(store)
    restarted = await stores.start()
    await _replay_all(restarted)
    await _assert_exact(restarted)
    assert await restarted.counters.journal.count_documents({}) == 0


async def test_a_crash_while_the_journal_is_cleared(stores: Stores) -> None:
    """Some batch entries deleted, the flush entry still there: only the deletion remains."""
    store = await stores.start()
    await _defer_all(store)

    async def part(op: str, ops: list[str]) -> None:
        await store.counters.journal.delete_one({"_id": ops[0]})

    _crash_once(store.counters, "_close", part)
    with pytest.raises(Crash):
        await store.counters.flush()
    assert await store.counters.journal.count_documents({}) == 3  # two batches, the flush
    restarted = await stores.start()
    await _replay_all(restarted)
    await _assert_exact(restarted)
    assert await restarted.counters.journal.count_documents({}) == 0


async def test_a_failed_flush_is_written_again_by_the_next(stores: Stores) -> None:
    """In the same process, the flush after a failure writes the same operation first, then
    what was deferred since; every count once."""
    store = await stores.start()
    await store.upsert_batch(BATCHES[0], defer_counts=True)
    await store.upsert_batch(BATCHES[1], defer_counts=True)
    real = store.counters.apply

    async def half(op: str, counts: dict[str, Any], lasts: Any = None) -> None:
        await real(op, dict(sorted(counts.items())[:1]), lasts)

    _crash_once(store.counters, "apply", half)
    with pytest.raises(Crash):
        await store.counters.flush()
    # A replay of the failed batches' tickets meanwhile is left to this process's flush.
    await store.upsert_batch(BATCHES[0] + BATCHES[2], defer_counts=True)
    await store.counters.flush()
    await _assert_exact(store)
    assert await store.counters.journal.count_documents({}) == 0
    assert len(await _counter_ops(store)) == 2


async def test_unfinished_flushes_are_completed_at_start(stores: Stores) -> None:
    """A flush entry left by a dead writer is completed at the next start once stale, with
    every batch it covers, and nothing is counted twice by later replays."""
    store = await stores.start()
    await _defer_all(store)
    _crash_once(store.counters, "apply")
    with pytest.raises(Crash):
        await store.counters.flush()
    old = datetime.now(UTC) - timedelta(hours=1)
    await store.counters.journal.update_many({}, {"$set": {"at": old}})
    restarted = await stores.start()
    await _assert_exact(restarted)
    assert await restarted.counters.journal.count_documents({}) == 0
    await _replay_all(restarted)
    await _assert_exact(restarted)


async def test_applying_a_flush_again_changes_nothing(stores: Stores) -> None:
    """Idempotence: a flush re-applied under its id, a recovery of its batches and their
    replays leave the counters as they were."""
    store = await stores.start()
    await _defer_all(store)
    pending = store.counters._pending
    await store.counters.flush()
    (op,) = await _counter_ops(store)
    before = await store.counters.stored()
    await store.counters.apply(op, pending.increments(), pending.lasts)
    assert await store.counters.recover(store.tickets, set(pending.ops)) == 0
    await _replay_all(store)
    assert await store.counters.stored() == before
    await _assert_exact(store)


# --- end to end ------------------------------------------------------------------------------


@dataclass
class Held(Scenario):
    """Counts held in memory until the service stops: full batches (a backlog), a flush
    interval longer than the test, and an idle poll longer than the test too."""

    @property
    def env(self) -> dict[str, str]:
        held = {"TRIAGE_STATS_FLUSH_MS": "60000", "TRIAGE_BATCH_LINGER_MS": "10000"}
        return {**super().env, **held}


@pytest.fixture
def held(kafka_server: KafkaServer, mongo_server: MongoServer) -> Iterator[Held]:
    with closing(Held(kafka_server, mongo_server)) as s:
        yield s


async def _backlog_stored_with_counts_held(scenario: Held, tmp_path: Path) -> MongoTicketStore:
    """600 tickets published before the service starts: three full batches, all stored,
    their counts not written yet."""
    await scenario.publish(ticket_lines(600))
    scenario.start_service(tmp_path)
    await scenario.wait_stored(600, 0, within=120)
    store = MongoTicketStore(scenario.mongo.uri, scenario.prefix)
    assert await store.counters.journal.count_documents({}) > 0
    return store


async def _committed(scenario: Scenario) -> int:
    client = AIOKafkaConsumer(
        bootstrap_servers=scenario.kafka.bootstrap, group_id=f"triage-{scenario.prefix}"
    )
    await client.start()
    try:
        topic = f"{scenario.prefix}.tickets"
        partitions = topic_names(Topics(scenario.prefix), load_registry())[topic]
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return sum([await client.committed(tp) or 0 for tp in tps])
    finally:
        await client.stop()


@pytest.mark.slow
async def test_sigterm_flushes_the_held_counts_before_the_last_commit(
    held: Held, tmp_path: Path
) -> None:
    """SIGTERM with counts in memory: the service writes them, commits every offset and
    exits 0, leaving nothing to repair."""
    store = await _backlog_stored_with_counts_held(held, tmp_path)
    try:
        assert await _committed(held) == 0
        held.procs[-1].send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(held.procs[-1].wait, 60) == 0
        assert await store.counters.journal.count_documents({}) == 0
        await _assert_exact(store)
        assert await _committed(held) == 600
    finally:
        await store.close()


@pytest.mark.slow
async def test_sigkill_with_counts_in_memory_is_repaired_by_the_replay(
    held: Held, tmp_path: Path
) -> None:
    """SIGKILL with counts in memory: nothing was committed, so the next service replays
    the batches and their journaled counts are written once."""
    store = await _backlog_stored_with_counts_held(held, tmp_path)
    try:
        held.procs[-1].send_signal(signal.SIGKILL)
        held.procs[-1].wait()
        assert await store.counters.stored() == {}
        assert await _committed(held) == 0
        held.start_service(tmp_path)
        for _ in range(240):
            if await store.counters.journal.count_documents({}) == 0:
                break
            await asyncio.sleep(0.5)
        await _assert_exact(store)
        assert await store.tickets.count_documents({}) == 600
    finally:
        await store.close()
