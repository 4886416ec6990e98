"""The consumer's batches: taken evenly from the partitions; their counters flushed
together, and their offsets committed only after a flush that stored those counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError, KafkaConnectionError
from structlog.testing import capture_logs

from streams import consumer
from streams.batch import Message, plan_batch
from streams.consumer import TicketConsumer, _Delivered, commit_owned, getmany_evenly
from streams.producer import MemoryProducer
from tests.fakes import analyzer
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MemoryTicketStore
from triage.core import counters
from triage.core.settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
REGISTRY = load_registry()
BATCH = 10


class RecordingStore(MemoryTicketStore):
    """The in-memory store, noting each flush and what was counted by then."""

    def __init__(self, journal: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.journal = journal

    async def flush_counts(self) -> None:
        await super().flush_counts()
        self.journal.append(("flush", _tickets_counted(self)))


class FakeKafka:
    """Stands for the Kafka consumer: records commits."""

    def __init__(self, journal: list[tuple[str, Any]]) -> None:
        self.journal = journal

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.journal.append(("commit", {(tp.topic, tp.partition): o for tp, o in offsets.items()}))

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("t.tickets", 0)}


def _tickets_counted(store: MemoryTicketStore) -> int:
    counted = counters.counts_of(store.counters.values())
    return sum(n for fields in counted.values() for f, n in fields.items() if "status." in f)


def _member(
    store: MemoryTicketStore, journal: list[tuple[str, Any]], **settings: Any
) -> TicketConsumer:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(consumer, "group_consumer", lambda *_: FakeKafka(journal))
        return TicketConsumer(
            Settings(topic_prefix="t", batch_size=BATCH, **settings),
            store=store,
            producer=MemoryProducer(),
            analyzer=analyzer(),
            registry=REGISTRY,
        )


async def _deliver(
    member: TicketConsumer, lines: Sequence[bytes], start: int, *, caught_up: bool = False
) -> None:
    """One batch through the consumer's own delivery, as the loop hands it over."""
    messages = [Message("t.tickets", 0, start + i, None, x) for i, x in enumerate(lines)]
    plan = await plan_batch(
        messages, analyzer=member.analyzer, registry=REGISTRY, settings=member.settings
    )
    member.stats.consumed += len(messages)
    consumed = member.stats.consumed
    await member._hand_over(_Delivered(plan, len(messages), consumed, 0.0, caught_up))
    await member._drain()


def _lines() -> list[bytes]:
    return SAMPLES.joinpath("tickets.jsonl").read_bytes().splitlines()


async def test_offsets_are_committed_after_the_flush_of_their_counters() -> None:
    """Batches wait for the interval; one that leaves nothing to fetch settles all of them:
    one flush, then one commit of the last offsets, and every ticket counted by then."""
    journal: list[tuple[str, Any]] = []
    store = RecordingStore(journal)
    member = _member(store, journal, stats_flush_ms=60_000)
    lines = _lines()
    await _deliver(member, lines[0:10], 0)
    await _deliver(member, lines[10:20], 10)
    assert journal == [] and store.counters == {} and len(store.docs) == 20
    with capture_logs() as logs:
        await _deliver(member, lines[20:25], 20, caught_up=True)
        assert member._settling is not None
        await member._settling
    assert journal == [("flush", 25), ("commit", {("t.tickets", 0): 25})]
    committed = [e["consumed"] for e in logs if e["event"] == "batch committed"]
    assert committed == [10, 20, 25]
    assert member.stats.batches == 3


async def test_batches_settle_once_the_flush_interval_has_passed() -> None:
    """With no interval every full batch is flushed and committed on its own."""
    journal: list[tuple[str, Any]] = []
    store = RecordingStore(journal)
    member = _member(store, journal, stats_flush_ms=0)
    lines = _lines()
    for i in range(3):
        await _deliver(member, lines[i * 10 : i * 10 + 10], i * 10)
        await member._drain_and_settle()
    commits = [offsets for kind, offsets in journal if kind == "commit"]
    assert commits == [{("t.tickets", 0): n} for n in (10, 20, 30)]
    assert [n for kind, n in journal if kind == "flush"] == [10, 20, 30]


async def test_a_failed_flush_is_retried_and_holds_back_the_commit() -> None:
    """The store is down at the flush: no commit until a retry has stored the counters."""
    journal: list[tuple[str, Any]] = []
    store = RecordingStore(journal)
    member = _member(store, journal, stats_flush_ms=60_000)
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)
        journal.append(("sleep", delay))
        store.down = len(slept) < 2

    member._sleep = sleep
    lines = _lines()
    await _deliver(member, lines[0:10], 0)
    store.down = True
    await member._drain_and_settle()
    assert journal == [
        ("sleep", 0.5),
        ("sleep", 1.0),
        ("flush", 10),
        ("commit", {("t.tickets", 0): 10}),
    ]
    assert member.stats.retries == 2


def test_settings_read_the_flush_interval() -> None:
    """TRIAGE_STATS_FLUSH_MS sets the interval; 0 flushes after every batch."""
    assert Settings().stats_flush_ms == 5000
    assert Settings.from_env({"TRIAGE_STATS_FLUSH_MS": "0"}).stats_flush_ms == 0
    assert replace(Settings(), stats_flush_ms=250).stats_flush_ms == 250


class Buffers:
    """Stands for the client's prefetched records: handed out one partition after the other,
    as aiokafka does; ``fetched`` are the partitions whose next records have arrived."""

    def __init__(self, backlog: dict[int, int], fetched: set[int] | None = None) -> None:
        self.records = {TopicPartition("t", p): list(range(n)) for p, n in backlog.items()}
        self.fetched = set(backlog) if fetched is None else fetched
        self.assigned = set(self.records)

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def highwater(self, tp: TopicPartition) -> int | None:
        return None if tp.partition not in self.fetched else 10**6

    async def position(self, tp: TopicPartition) -> int:
        return 10**6 - len(self.records[tp])

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int = 1
    ) -> dict[TopicPartition, list[int]]:
        out: dict[TopicPartition, list[int]] = {}
        for tp, records in self.records.items():
            if (partitions and tp not in partitions) or tp.partition not in self.fetched:
                continue
            if records and max_records > 0:
                out[tp], self.records[tp] = records[:max_records], records[max_records:]
                max_records -= len(out[tp])
        return out


def _counts(got: dict[TopicPartition, list[Any]]) -> dict[int, int]:
    return {tp.partition: len(records) for tp, records in got.items()}


async def test_a_batch_takes_an_even_share_of_every_partition() -> None:
    """Six partitions with a backlog: a batch of 60 takes 10 from each, not 60 from one."""
    buffers = Buffers(dict.fromkeys(range(6), 100))
    got = await getmany_evenly(buffers, timeout_ms=0, max_records=60)  # type: ignore[arg-type]
    assert _counts(got) == dict.fromkeys(range(6), 10)


async def test_the_batch_is_filled_from_others_once_a_partition_is_drained() -> None:
    """A partition with nothing left leaves its share to the others."""
    buffers = Buffers({0: 100, 1: 100, 2: 0})
    got = await getmany_evenly(buffers, timeout_ms=0, max_records=60)  # type: ignore[arg-type]
    assert sum(_counts(got).values()) == 60 and _counts(got)[0] >= 20


async def test_no_partition_runs_ahead_while_another_waits_for_its_records() -> None:
    """A partition whose records are still on the way is waited for: the batch is short
    rather than filled from the partitions already there."""
    buffers = Buffers({0: 100, 1: 100, 2: 100}, fetched={0, 1})
    got = await getmany_evenly(buffers, timeout_ms=0, max_records=60)  # type: ignore[arg-type]
    assert _counts(got) == {0: 20, 1: 20}


async def test_records_of_a_partition_taken_away_meanwhile_are_left_out() -> None:
    """A rebalance during the fetch: the revoked partition's records are not handed on."""
    buffers = Buffers({0: 100, 1: 100})
    real = buffers.getmany

    async def revoking(*partitions: TopicPartition, **kwargs: Any) -> dict[TopicPartition, Any]:
        got = await real(*partitions, **kwargs)
        if TopicPartition("t", 1) in got:  # taken, then revoked before the batch is handed on
            buffers.assigned.discard(TopicPartition("t", 1))
        return got

    buffers.getmany = revoking  # type: ignore[method-assign]
    got = await getmany_evenly(buffers, timeout_ms=0, max_records=20)  # type: ignore[arg-type]
    assert _counts(got) == {0: 10}


class Group:
    """Stands for the consumer's commits: fails ``failures`` times with ``error`` first; an
    offset of a partition not assigned raises IllegalStateError, as aiokafka does."""

    def __init__(self, assigned: set[int], failures: int = 0, error: Exception | None = None):
        self.assigned = {TopicPartition("t", p) for p in assigned}
        self.failures, self.error = failures, error
        self.attempts = 0
        self.committed: dict[int, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.attempts += 1
        if any(tp not in self.assigned for tp in offsets):
            raise IllegalStateError("partition is not assigned")
        if self.failures > 0 and self.error is not None:
            self.failures -= 1
            raise self.error
        self.committed.update({tp.partition: o for tp, o in offsets.items()})


async def _no_wait(delay: float) -> None:
    return None


async def test_a_commit_leaves_out_partitions_handed_over_meanwhile() -> None:
    """Offsets of a partition revoked since its batch was taken are its new owner's: the rest
    are committed, once, instead of a commit that would fail on every retry."""
    group = Group(assigned={0})
    offsets = {TopicPartition("t", 0): 5, TopicPartition("t", 1): 7}
    await commit_owned(group, offsets, sleep=_no_wait)  # type: ignore[arg-type]
    assert (group.committed, group.attempts) == ({0: 5}, 1)
    nothing_left = Group(assigned=set())
    await commit_owned(nothing_left, offsets, sleep=_no_wait)  # type: ignore[arg-type]
    assert nothing_left.attempts == 0


async def test_a_commit_refused_is_given_up_and_a_broken_connection_retried() -> None:
    """Revoked while committing (IllegalStateError): given up after one attempt; a lost
    connection: retried until the commit is stored."""
    revoked = Group(assigned={0}, failures=10, error=IllegalStateError("not assigned"))
    await commit_owned(revoked, {TopicPartition("t", 0): 3}, sleep=_no_wait)  # type: ignore[arg-type]
    assert (revoked.committed, revoked.attempts) == ({}, 1)
    flaky = Group(assigned={0}, failures=3, error=KafkaConnectionError())
    await commit_owned(flaky, {TopicPartition("t", 0): 3}, sleep=_no_wait)  # type: ignore[arg-type]
    assert (flaky.committed, flaky.attempts) == ({0: 3}, 4)
