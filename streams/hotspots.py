"""The hot-spot stage: group ``<group>-hotspots`` on ``<prefix>.decided`` (one partition).

One partition means one owner at a time sees every decided ticket, whatever the number of
replicas: a hot spot can never be split along partitions. The owner puts the tickets back in
``received_at`` order (``streams.ordering``: a merge of the tickets topic's partitions, each
decided in order by the routing stage), detects them, writes them (``HotspotStore.save``: per
ticket, idempotent), publishes each ticket with its hot spot to ``<prefix>.detected`` for the
replicas answering `similar`, and only then commits, up to the oldest ticket still waiting in
the merge. Detection is CPU work and the writes are the database's: while one batch is written
and published, the next is detected (never further ahead), and each batch's writes start only
once the batch before it is written and committed, so writes and commits keep their order.
While routing works through a backlog of more than ``YIELD_BACKLOG`` tickets, the stage waits
(both write to the same database, and a ticket reaching its department comes first), then
catches up. On every assignment it rebuilds its window from MongoDB before it detects anything,
so a partition that moves (a replica joining, stopping or dying) goes on from exactly what is
stored: the tickets replayed since the last commit are in the window already and change
nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.batch import Message
from streams.consumer import Backoff, commit_owned, fetch_unless_stopped, group_consumer
from streams.deadletter import dead_letter
from streams.exceptions import StreamsError
from streams.ordering import Merger, Queued, StallTimer
from streams.producer import Outgoing, Producer
from streams.sightings import DecidedTicket, decode_decided, detected_message
from triage.adapters.hotspot_tracker import HotspotTracker
from triage.adapters.store.hotspots import HotspotWrite
from triage.core.errors import StoreError
from triage.core.settings import Settings

__all__ = ["HotspotConsumer"]

log = structlog.get_logger("streams.hotspots")

# How often the owner asks, when it holds tickets back, whether tickets partitions are done.
IDLE_CHECK_S = 0.2
REBALANCE_TIMEOUT_MS = 120_000
IDLE_LOOKUP_S = 5.0
# Beyond this wait for one partition (its routing stalled), the others go on without it.
MAX_WAIT_S = 30.0
# A routing backlog beyond this many tickets, while routing works through it, has the stage
# wait: both write to the same database, and a ticket reaching its department comes before its
# hot spot. The stage catches up once routing is within this of the end.
YIELD_BACKLOG = 2_000
# Routing that published nothing for this long is stalled, not busy: the stage goes on.
ROUTING_STALLED_S = 10.0


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        lock: asyncio.Lock,
        drain: Callable[[], Awaitable[None]],
        assigned: Callable[[bool], None],
    ) -> None:
        self._lock, self._drain, self._assigned = lock, drain, assigned

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # A batch is detected under the lock, and its writes and commit finish before the
        # next batch's start: with the lock taken and the last writes drained, nothing of the
        # partition is in hand any more.
        async with self._lock:
            await self._drain()
            log.info("hot-spot partition revoked", partitions=sorted(map(str, revoked)))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("hot-spot partition assigned", partitions=sorted(map(str, assigned)))
        self._assigned(bool(assigned))


@dataclass(frozen=True, slots=True)
class _Detected:
    """A batch detected, to be written, published and committed."""

    tickets: list[DecidedTicket]
    write: HotspotWrite
    outgoing: list[Outgoing]


class HotspotConsumer:
    """The owner of the decided-tickets partition; ``stop()`` finishes the batch in hand."""

    def __init__(
        self,
        settings: Settings,
        *,
        tracker: HotspotTracker,
        producer: Producer,
        executor: Executor | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings, self.tracker, self.producer = settings, tracker, producer
        self.executor = executor
        self.detected = 0
        self.rebuilds = 0
        self._sleep = sleep
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stale = True
        # A batch is detected and written under the lock that a revocation waits for, and
        # the first after an assignment rebuilds the window: both can outlast the session
        # timeout on a busy machine, and a member that misses the rebalance is dropped,
        # rejoins and triggers the next one.
        self._consumer = group_consumer(
            settings, settings.hotspots_group_id, rebalance_timeout_ms=REBALANCE_TIMEOUT_MS
        )
        self._admin: AIOKafkaAdminClient | None = None
        self._merger: Merger | None = None
        self._stall = StallTimer(MAX_WAIT_S)
        self._last_idle_check = 0.0
        self._idle: set[int] = set()
        self._idle_mark = 0  # one past the last offset queued when they were looked up
        self._committed: int | None = None
        # The batch being written, published and committed while the next one is detected.
        self._writing: asyncio.Task[None] | None = None
        self._last_yield_check = 0.0
        self._yielding = False
        self._routing_done: int | None = None
        self._routing_moved = -math.inf  # when routing last published more (monotonic clock)
        self._n_sources: int | None = None

    @property
    def owns(self) -> bool:
        return bool(self._consumer.assignment())

    def stop(self) -> None:
        self._stopping.set()

    def _assigned(self, any_: bool) -> None:
        # Rebuilt before the next batch: another owner may have written since this one's
        # window was built, even if the partition comes back to this member.
        self._stale = self._stale or any_

    async def run(self) -> None:
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=f"{self.settings.hotspots_group_id}-admin",
        )
        await self._admin.start()
        await self._consumer.start()
        try:
            listener = _Listener(self._lock, self._drain, self._assigned)
            self._consumer.subscribe([self.settings.topics.decided], listener=listener)
            while not self._stopping.is_set():
                await self._step()
            async with self._lock:
                await self._drain()
        finally:
            await self._consumer.stop()
            await self._admin.close()
            log.info("hot-spot consumer stopped", detected=self.detected, rebuilds=self.rebuilds)

    async def _step(self) -> None:
        waiting = self._merger is not None and len(self._merger) > 0
        busy = await self._yield_to_routing()
        if busy:
            self._stall.reset()  # waiting by choice: nothing is fetched on purpose
        fetched = await fetch_unless_stopped(
            self._consumer,
            self._stopping,
            timeout_ms=int(IDLE_CHECK_S * 1000) if waiting or busy else 1000,
            max_records=self.settings.batch_size,
        )
        if fetched is None or (busy and not any(fetched.values())):
            return
        async with self._lock:
            assigned = self._consumer.assignment()
            if not assigned:
                return
            if self._stale or self._merger is None:
                await self._drain()  # what an earlier ownership wrote, before reading it back
                await self._retry("hot-spot window rebuild", self.tracker.rebuild)
                self._n_sources = await self._sources()
                self._merger = Merger(self._n_sources)
                self._idle, self._last_idle_check = set(), 0.0  # looked up for another merge
                self._stall.reset()  # a wait before the rebuild is not this merge's
                self._committed = None
                self.rebuilds += 1
                self._stale = False
            merger = self._merger
            # records of a partition taken away meanwhile are its new owner's
            messages = [m for tp, batch in fetched.items() if tp in assigned for m in batch]
            dead = self._queue(merger, messages)
            released = merger.release()
            if not released and merger:
                released = merger.release(await self._idle_sources(merger))
            if not released and merger and self._stall.expired():
                log.warning("a tickets partition stalled: detecting without it", queued=len(merger))
                released = merger.release(force=True)
            self._stall.note(released=bool(released), queued=bool(merger))
            if released or dead:
                batch = await self._detect(released, dead)
                await self._drain()
                self._writing = asyncio.create_task(
                    self._write(batch, merger.commit_offset()), name="hot-spot write"
                )
            else:
                await self._drain()
                await self._commit(merger.commit_offset())

    async def _drain(self) -> None:
        """Wait for the batch being written, published and committed, if any."""
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    async def _commit(self, offset: int | None) -> None:
        if offset is not None and offset != self._committed:
            decided = TopicPartition(self.settings.topics.decided, 0)
            await commit_owned(
                self._consumer, {decided: offset}, sleep=self._sleep, stopping=self._stopping
            )
            self._committed = offset

    def _queue(self, merger: Merger, messages: list[Message]) -> list[Outgoing]:
        """Queue the decided tickets; dead letters for what cannot be read."""
        queued: list[Queued] = []
        dead: list[Outgoing] = []
        for msg in messages:
            ticket = decode_decided(msg.value)
            if isinstance(ticket, str):
                log.warning("dead letter", topic=msg.topic, offset=msg.offset, reason=ticket[:200])
                out, _ = dead_letter(
                    msg.topic,
                    msg.partition,
                    msg.offset,
                    msg.key,
                    msg.value,
                    ticket,
                    deadletter_topic=self.settings.topics.deadletter,
                )
                dead.append(out)
                merger.skip(msg.offset)
            else:
                queued.append(
                    Queued(ticket.source, msg.offset, ticket.received_at, ticket.ticket_id, ticket)
                )
        merger.add(queued)
        return dead

    async def _sources(self) -> int:
        """How many partitions the tickets topic has (each a stream to merge)."""

        async def describe() -> None:
            admin = self._admin
            if admin is None:
                raise StreamsError("admin client not started")
            [topic] = await admin.describe_topics([self.settings.topics.tickets])
            found["n"] = len(topic["partitions"])

        found: dict[str, int] = {}
        await self._retry("tickets partitions", describe)
        return found["n"]

    async def _idle_sources(self, merger: Merger) -> set[int]:
        """The tickets partitions that have nothing more to send: the routing stage committed
        all of them and everything in `decided` has been read (looked up at most every
        ``IDLE_CHECK_S``; a partition that queued something since is not idle any more)."""
        now = time.monotonic()
        if now - self._last_idle_check >= IDLE_CHECK_S:
            self._last_idle_check = now
            try:
                # bounded: a lookup stuck on a broker must not hold the batch (and the lock)
                sources = set(range(self._n_sources or 0))
                self._idle = await asyncio.wait_for(self._caught_up(sources), IDLE_LOOKUP_S)
                self._idle_mark = merger.next_offset
            except (KafkaError, StreamsError, TimeoutError) as exc:
                log.warning("cannot tell whether routing is done", error=type(exc).__name__)
                self._idle = set()
        return {s for s in self._idle if merger.newest(s) < self._idle_mark}

    async def _caught_up(self, sources: set[int]) -> set[int]:
        admin, topics = self._admin, self.settings.topics
        if admin is None:
            return set()
        tps = [TopicPartition(topics.tickets, p) for p in sorted(sources)]
        committed = await admin.list_consumer_group_offsets(self.settings.group_id, partitions=tps)
        ends = await self._consumer.end_offsets(tps)
        done = {
            tp.partition
            for tp in tps
            if ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp])
        }
        if not done:
            return done
        decided = TopicPartition(topics.decided, 0)
        # committed by routing means published: read all of `decided` and nothing is missing
        end = (await self._consumer.end_offsets([decided]))[decided]
        return done if await self._consumer.position(decided) >= end else set()

    async def _yield_to_routing(self) -> bool:
        """Whether routing has a backlog it is working through (then the decided partition is
        paused: polled, so the member stays in its group, but nothing fetched)."""
        now = time.monotonic()
        if now - self._last_yield_check >= IDLE_CHECK_S:
            self._last_yield_check = now
            try:
                lag, done = await asyncio.wait_for(self._routing_progress(), IDLE_LOOKUP_S)
            except (KafkaError, StreamsError, TimeoutError):
                lag, done = 0, None
            if done is not None and done != self._routing_done:
                self._routing_done, self._routing_moved = done, now
            # only while it makes progress: a routing stage that is down must not hold back
            # the hot spots of what it published before
            busy = lag > YIELD_BACKLOG and now - self._routing_moved < ROUTING_STALLED_S
            if busy != self._yielding:
                log.info("hot spots wait for routing" if busy else "routing caught up", lag=lag)
            self._yielding = busy
        decided = TopicPartition(self.settings.topics.decided, 0)
        if decided in self._consumer.assignment():
            if self._yielding:
                self._consumer.pause(decided)
            else:
                self._consumer.resume(decided)
        return self._yielding

    async def _routing_progress(self) -> tuple[int, int]:
        """Routing's backlog on the tickets topic (from its last commit: an overestimate by
        what it did since), and how many tickets it has published to the stage in all (which
        grows with every batch it delivers)."""
        admin = self._admin
        if admin is None:
            raise StreamsError("admin client not started")
        if self._n_sources is None:
            self._n_sources = await self._sources()
        topics = self.settings.topics
        tps = [TopicPartition(topics.tickets, p) for p in range(self._n_sources)]
        decided = TopicPartition(topics.decided, 0)
        committed = await admin.list_consumer_group_offsets(self.settings.group_id, partitions=tps)
        ends = await self._consumer.end_offsets([*tps, decided])
        done = {tp: max(committed[tp].offset, 0) if tp in committed else 0 for tp in tps}
        return sum(max(ends[tp] - done[tp], 0) for tp in tps), ends[decided]

    async def _detect(self, released: list[Queued], dead: list[Outgoing]) -> _Detected:
        """Detect a batch (in the executor): what it will write and publish."""
        tickets = [q.item for q in released if isinstance(q.item, DecidedTicket)]
        sightings = [t.sighting() for t in tickets]
        stored: dict[str, str] = {}
        old = self.tracker.before_window(sightings)
        if old:

            async def lookup() -> None:
                stored.update(await self.tracker.store.assigned(old))

            await self._retry("stored hot spots", lookup)
            log.info("replayed tickets older than the window", tickets=len(old), stored=len(stored))
        loop = asyncio.get_running_loop()
        write = await loop.run_in_executor(self.executor, self.tracker.observe, sightings, stored)
        found = dict(write.assignments)
        topic = self.settings.topics.detected
        outgoing = dead + [detected_message(t, found[t.ticket_id], topic) for t in tickets]
        return _Detected(tickets, write, outgoing)

    async def _write(self, batch: _Detected, offset: int | None) -> None:
        """Store a detected batch, publish it, then commit up to ``offset``."""
        await self._retry("hot-spot write", lambda: self.tracker.store.save(batch.write))
        await self._retry("hot-spot publish", lambda: self.producer.send_all(batch.outgoing))
        await self._commit(offset)
        self.detected += len(batch.tickets)
        # from routing's publish to this batch's hot spots stored and published
        now = time.time()
        waits = sorted(now - t.decided_at for t in batch.tickets if t.decided_at is not None)
        log.info(
            "hot-spot batch committed",
            tickets=len(batch.tickets),
            detected=self.detected,
            latency_p50_s=round(waits[len(waits) // 2], 3) if waits else None,
            latency_max_s=round(waits[-1], 3) if waits else None,
        )

    async def _retry(self, what: str, action: Callable[[], Awaitable[object]]) -> None:
        backoff = Backoff()
        while True:
            try:
                await action()
            except (StoreError, StreamsError, KafkaError) as exc:
                delay = backoff.step()
                log.warning(
                    "failed, retrying",
                    step=what,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                    retry_in_s=delay,
                )
                await self._sleep(delay)
            else:
                return
