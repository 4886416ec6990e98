"""The Kafka loop: take a batch, plan it, deliver it, commit it; survive outages.

At-least-once: offsets are committed per partition (``last.offset + 1``) only after the store
and the publish are acknowledged and the batch's statistics counters are stored. Those are
deferred: the batches delivered within ``stats_flush_ms`` of the last flush have their
counters added up in memory and written by one flush (one update per counter document, not
one per batch), and then their offsets are committed together, in the background while later
batches go on. A batch that leaves nothing more to fetch (the consumer is caught up) is
settled at once, so a quiet stream waits for nothing. A crash before a flush replays the
batches since the last commit, and their tickets find the journaled counts and complete them
(triage.adapters.store.counters). A lock held for the batch in hand makes a rebalance wait
until every delivered batch is flushed and committed, so a partition handed over never
replays more than needed. Store and broker failures are retried with backoff on the same
batch, without committing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from streams.batch import Analyzer, Message, Plan, Stats, deliver, plan_batch
from streams.exceptions import StreamsError
from streams.producer import Producer
from triage.adapters.store import TicketStore
from triage.core.departments import Registry
from triage.core.errors import StoreError
from triage.core.settings import Settings

__all__ = ["Backoff", "Observer", "TicketConsumer", "commit_owned"]

log = structlog.get_logger("streams.consumer")

# Delivered batches waiting for their flush and commit, beyond which the loop waits for them.
MAX_UNSETTLED = 32


def group_consumer(
    settings: Settings, group_id: str, *, rebalance_timeout_ms: int | None = None
) -> AIOKafkaConsumer:
    """A member of `group_id` that commits by hand, after the work is done;
    ``rebalance_timeout_ms``: how long a rebalance waits for the member to finish its batch
    and rejoin (default: the session timeout)."""
    return AIOKafkaConsumer(
        rebalance_timeout_ms=rebalance_timeout_ms,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id,
        client_id=f"{group_id}-consumer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


async def getmany_evenly(
    consumer: AIOKafkaConsumer, *, timeout_ms: int, max_records: int
) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    """Up to ``max_records``, an even share from each assigned partition.

    The client hands out one partition's buffer (up to 4 MB) before the next, so a backlog
    would be worked through partition by partition, each batch hours of one partition. Even
    shares keep the partitions at the same point in time: tickets are handled close to the
    order they arrived in, and a batch's tickets fall on few days (so touch few statistics
    counter documents). The rest of a batch is filled from any partition only when those
    that gave nothing have nothing to give (not while their next records are on the way).
    Waits up to ``timeout_ms`` for the first records only.
    """
    out: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}

    def take(got: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> int:
        for tp, records in got.items():
            out.setdefault(tp, []).extend(records)
        return sum(len(records) for records in got.values())

    # One record to wait for: the assignment is known only once records arrive.
    n = take(await consumer.getmany(timeout_ms=timeout_ms, max_records=1))
    if n == 0:
        return out
    partitions = sorted(consumer.assignment())
    share = -(-max_records // max(len(partitions), 1))
    for tp in partitions:
        want = min(share - len(out.get(tp, ())), max_records - n)
        if want > 0:
            n += take(await consumer.getmany(tp, max_records=want))
    if not [tp for tp in partitions if tp not in out and await _behind(consumer, tp)]:
        while n < max_records:
            more = take(await consumer.getmany(max_records=max_records - n))
            if more == 0:
                break
            n += more
    # A rebalance while this ran: records of a partition taken away are its new owner's.
    assigned = consumer.assignment()
    return {tp: records for tp, records in out.items() if tp in assigned}


async def _behind(consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
    """Whether the partition has records not fetched yet (unknown counts as behind)."""
    high: int | None = consumer.highwater(tp)
    if high is None:
        return True
    try:
        position: int = await consumer.position(tp)
    except KafkaError:  # revoked meanwhile
        return False
    return position < high


async def fetch_unless_stopped(
    consumer: AIOKafkaConsumer,
    stopping: asyncio.Event,
    *,
    timeout_ms: int,
    max_records: int,
    evenly: bool = False,
) -> dict[TopicPartition, list[Message]] | None:
    """The next records by partition, or None once `stopping` is set before they arrive;
    ``evenly``: a share of each partition (``getmany_evenly``)."""
    if evenly:
        getting = getmany_evenly(consumer, timeout_ms=timeout_ms, max_records=max_records)
    else:
        getting = consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
    fetch = asyncio.ensure_future(getting)
    stopped = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not fetch.done():
        fetch.cancel()
        return None
    return {
        tp: [Message(r.topic, r.partition, r.offset, r.key, r.value) for r in records]
        for tp, records in fetch.result().items()
    }


class Backoff:
    """0.5 s doubling to 10 s; reset after a success."""

    def __init__(self, first: float = 0.5, cap: float = 10.0) -> None:
        self.first, self.cap, self.next = first, cap, first

    def reset(self) -> None:
        self.next = self.first

    def step(self) -> float:
        delay, self.next = self.next, min(self.next * 2, self.cap)
        return delay


async def commit_owned(
    consumer: AIOKafkaConsumer,
    offsets: Mapping[TopicPartition, int],
    *,
    sleep: Callable[[float], Awaitable[None]],
    stopping: asyncio.Event | None = None,
) -> None:
    """Commit ``offsets`` for the partitions still assigned; other failures are retried with
    backoff (until ``stopping`` is set, if given).

    A partition handed over meanwhile is its new owner's, and so is a commit the group refuses
    (a rebalance that could not wait): the new owner reprocesses from the last commit, and
    idempotent writes make that harmless. Committing it anyway would fail on every retry.
    """
    backoff = Backoff()
    while True:
        assigned = consumer.assignment()
        owned = {tp: o for tp, o in offsets.items() if tp in assigned}
        if len(owned) < len(offsets):
            log.info(
                "offsets of partitions handed over left to their owner", n=len(offsets) - len(owned)
            )
        if not owned:
            return
        try:
            await consumer.commit(owned)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "commit refused by the group", error=type(exc).__name__, detail=str(exc)[:200]
            )
            return
        except KafkaError as exc:
            delay = backoff.step()
            log.warning("commit failed, retrying", error=type(exc).__name__, retry_in_s=delay)
            if stopping is not None and stopping.is_set():
                return
            await sleep(delay)
        else:
            return


class Observer(Protocol):
    """What the loop reports for monitoring (``triage.service.metrics.Metrics`` is the real one)."""

    def batch_committed(self, plan: Plan, seconds: float) -> None: ...
    def partition_lag(self, topic: str, partition: int, lag: int) -> None: ...
    def partitions_revoked(self, partitions: Iterable[tuple[str, int]]) -> None: ...


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        lock: asyncio.Lock,
        drain: Callable[[], Awaitable[None]],
        revoked: Callable[[list[TopicPartition]], None],
    ) -> None:
        self._lock, self._drain, self._revoked = lock, drain, revoked

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # The loop holds the lock while it plans a batch, and a planned batch is delivered
        # before the next is planned: taking the lock and draining means every batch in hand
        # is committed before its partitions move to another member.
        async with self._lock:
            await self._drain()
            self._revoked(revoked)
            log.info("partitions revoked", partitions=sorted(str(tp) for tp in revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=sorted(str(tp) for tp in assigned))


@dataclass(frozen=True, slots=True)
class _Delivered:
    """A batch stored and published whose offsets are not committed yet."""

    plan: Plan
    size: int
    consumed: int  # messages consumed up to and including this batch
    started: float
    # Nothing more to fetch: the batch took the last records of every partition.
    caught_up: bool = False


class TicketConsumer:
    """Consumer group member on the tickets topic; ``stop()`` finishes the batch in hand."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: TicketStore,
        producer: Producer,
        analyzer: Analyzer,
        registry: Registry,
        executor: Executor | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings
        self.store, self.producer = store, producer
        self.analyzer, self.registry, self.executor = analyzer, registry, executor
        self.stats = Stats()
        self.observer = observer
        self._sleep = sleep
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        # Delivered batches in order, their counters deferred; committed by ``_settle``.
        self._delivered: list[_Delivered] = []
        self._settling: asyncio.Task[None] | None = None
        self._settle_again = False
        self._last_settle = time.monotonic()
        self._consumer = group_consumer(settings, settings.group_id)

    @property
    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment())

    def stop(self) -> None:
        """Ask the loop to end after the batch in hand is committed."""
        self._stopping.set()

    async def run(self) -> None:
        await self._consumer.start()
        try:
            listener = _Listener(self._lock, self._drain_and_settle, self._revoked)
            self._consumer.subscribe([self.settings.topics.tickets], listener=listener)
            while not self._stopping.is_set():
                await self._step()
            async with self._lock:
                await self._drain_and_settle()
        finally:
            await self._consumer.stop()
            log.info("consumer stopped", **self._summary())

    async def _drain(self) -> None:
        """Wait for the batch being delivered, if any, to be stored and published."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    async def _drain_and_settle(self) -> None:
        """Deliver the batch in hand, then flush and commit every delivered batch."""
        await self._drain()
        settling, self._settling = self._settling, None
        if settling is not None:
            await settling
        await self._settle()

    async def _step(self) -> None:
        fetched = await fetch_unless_stopped(
            self._consumer,
            self._stopping,
            timeout_ms=self.settings.batch_linger_ms + 1000,
            max_records=self.settings.batch_size,
            evenly=True,
        )
        if fetched is None:
            return
        messages = [m for batch in fetched.values() for m in batch]
        if not messages:
            async with self._lock:
                await self._drain_and_settle()
            return
        started = time.perf_counter()
        async with self._lock:
            if self.stats.first_consume is None:
                self.stats.first_consume = time.time()
                log.info("first batch received", size=len(messages))
            self.stats.consumed += len(messages)
            consumed = self.stats.consumed
            # Classifying this batch overlaps the delivery of the previous one; commits still
            # happen strictly in batch order, since each waits for the one before.
            plan = await plan_batch(
                messages,
                analyzer=self.analyzer,
                registry=self.registry,
                settings=self.settings,
                executor=self.executor,
            )
            caught_up = len(messages) < self.settings.batch_size and not await self._more_to_fetch()
            await self._hand_over(_Delivered(plan, len(messages), consumed, started, caught_up))

    async def _more_to_fetch(self) -> bool:
        """Whether any assigned partition still has records to fetch."""
        for tp in self._consumer.assignment():
            if await _behind(self._consumer, tp):
                return True
        return False

    async def _hand_over(self, batch: _Delivered) -> None:
        """Start delivering ``batch`` once the one before it is delivered (under the lock)."""
        await self._drain()
        if len(self._delivered) >= MAX_UNSETTLED:
            await self._drain_and_settle()
        self._pending = asyncio.create_task(self._deliver_and_settle(batch))

    async def _deliver_and_settle(self, batch: _Delivered) -> None:
        await self._deliver(batch.plan)
        self._delivered.append(batch)
        due = time.monotonic() - self._last_settle >= self.settings.stats_flush_ms / 1000
        if batch.caught_up or due:
            self._start_settling(at_once=batch.caught_up)

    def _start_settling(self, *, at_once: bool) -> None:
        """Flush and commit in the background; one at a time, in the order of delivery.

        The interval runs from the end of the last flush: when flushes get slow (a busy
        database), they get further apart instead of following each other without a pause.
        """
        settling = self._settling
        if settling is not None and not settling.done():
            # Caught up: once it is done, for the batches delivered since; else the next
            # delivery after it looks again.
            self._settle_again = self._settle_again or at_once
            return
        if settling is not None:
            settling.result()  # a failed settlement fails the loop
        self._settling = asyncio.create_task(self._settle())

    async def _settle(self) -> None:
        """Store the deferred counters, then commit the batches delivered before the flush."""
        while self._delivered:
            self._settle_again = False
            batches, self._delivered = self._delivered, []
            flush_started = time.perf_counter()
            await self._flush_counts()
            log.debug(
                "counters flushed",
                batches=len(batches),
                seconds=round(time.perf_counter() - flush_started, 3),
            )
            offsets: dict[tuple[str, int], int] = {}
            for batch in batches:
                for tp, offset in batch.plan.offsets.items():
                    offsets[tp] = max(offsets.get(tp, 0), offset)
            await self._commit(offsets)
            self._last_settle = time.monotonic()
            for batch in batches:
                await self._committed(batch)
            if not self._settle_again:
                return

    async def _flush_counts(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self.store.flush_counts()
            except StoreError as exc:
                delay = backoff.step()
                self.stats.retries += 1
                log.warning(
                    "counter flush failed, retrying",
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                    retry_in_s=delay,
                )
                await self._sleep(delay)
            else:
                return

    async def _committed(self, batch: _Delivered) -> None:
        plan = batch.plan
        self.stats.add(plan)
        if self.observer is not None:
            self.observer.batch_committed(plan, time.perf_counter() - batch.started)
            await self._report_lag(plan, self.observer)
        log.info(
            "batch committed",
            size=batch.size,
            tickets=len(plan.records),
            deadletters=len(plan.deadletters),
            **{**self._summary(), "consumed": batch.consumed},
        )

    async def _deliver(self, plan: Plan) -> None:
        backoff, done = Backoff(), set[str]()
        while True:
            try:
                await deliver(
                    plan,
                    store=self.store,
                    producer=self.producer,
                    done=done,
                    defer_counts=True,
                )
            except (StoreError, StreamsError, KafkaError) as exc:
                delay = backoff.step()
                self.stats.retries += 1
                log.warning(
                    "delivery failed, retrying",
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                    retry_in_s=delay,
                    done=sorted(done),
                )
                await self._sleep(delay)
            else:
                return

    async def _commit(self, positions: dict[tuple[str, int], int]) -> None:
        offsets = {TopicPartition(t, p): o for (t, p), o in positions.items()}
        await commit_owned(self._consumer, offsets, sleep=self._sleep)

    async def _report_lag(self, plan: Plan, observer: Observer) -> None:
        for topic, partition in plan.offsets:
            tp = TopicPartition(topic, partition)
            high = self._consumer.highwater(tp)
            if high is None:
                continue
            try:
                position = await self._consumer.position(tp)
            except KafkaError:  # revoked meanwhile (IllegalStateError): its new owner reports
                continue
            observer.partition_lag(topic, partition, max(high - position, 0))

    def _revoked(self, partitions: list[TopicPartition]) -> None:
        if self.observer is not None:
            self.observer.partitions_revoked((tp.topic, tp.partition) for tp in partitions)

    def _summary(self) -> dict[str, int]:
        s = self.stats
        return {
            "consumed": s.consumed,
            "routed": s.routed,
            "review": s.review,
            "dead": s.deadletters,
            "retries": s.retries,
        }
