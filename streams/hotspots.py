"""The hot-spot stage: group ``<group>-hotspots`` on ``<prefix>.decided`` (one partition).

One partition means one owner at a time sees every decided ticket, whatever the number of
replicas: a hot spot can never be split along partitions. The owner detects each batch in
``received_at`` order, writes it (``HotspotStore.save``: per ticket, idempotent), publishes
each ticket with its hot spot to ``<prefix>.detected`` for the replicas answering `similar`,
and only then commits. On every assignment it rebuilds its window from MongoDB before it
detects anything, so a partition that moves (a replica joining, stopping or dying) goes on
from exactly what is stored: the batches replayed since the last commit find their tickets
already in the window and write nothing new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from streams.batch import Message
from streams.consumer import Backoff, commit_owned, fetch_unless_stopped, group_consumer
from streams.deadletter import dead_letter
from streams.exceptions import StreamsError
from streams.producer import Outgoing, Producer
from streams.sightings import DecidedTicket, decode_decided, detected_message
from triage.adapters.hotspot_tracker import HotspotTracker
from triage.core.errors import StoreError
from triage.core.settings import Settings

__all__ = ["HotspotConsumer"]

log = structlog.get_logger("streams.hotspots")


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, lock: asyncio.Lock, assigned: Callable[[bool], None]) -> None:
        self._lock, self._assigned = lock, assigned

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # A batch is detected, written and committed under the lock: once it is free, nothing
        # of the partition is in hand any more.
        async with self._lock:
            log.info("hot-spot partition revoked", partitions=sorted(map(str, revoked)))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("hot-spot partition assigned", partitions=sorted(map(str, assigned)))
        self._assigned(bool(assigned))


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
        self._consumer = group_consumer(settings, settings.hotspots_group_id)

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
        await self._consumer.start()
        try:
            listener = _Listener(self._lock, self._assigned)
            self._consumer.subscribe([self.settings.topics.decided], listener=listener)
            while not self._stopping.is_set():
                await self._step()
        finally:
            await self._consumer.stop()
            log.info("hot-spot consumer stopped", detected=self.detected, rebuilds=self.rebuilds)

    async def _step(self) -> None:
        fetched = await fetch_unless_stopped(
            self._consumer,
            self._stopping,
            timeout_ms=1000,
            max_records=max(self.settings.batch_size, 1000),
        )
        if not fetched:
            return
        async with self._lock:
            assigned = self._consumer.assignment()
            # records of a partition taken away meanwhile are its new owner's
            batches = {tp: m for tp, m in fetched.items() if tp in assigned}
            if not batches:
                return
            if self._stale:
                await self._retry("hot-spot window rebuild", self.tracker.rebuild)
                self.rebuilds += 1
                self._stale = False
            messages = [m for batch in batches.values() for m in batch]
            await self._detect(messages)
            offsets = {tp: batch[-1].offset + 1 for tp, batch in batches.items()}
            await commit_owned(self._consumer, offsets, sleep=self._sleep, stopping=self._stopping)

    async def _detect(self, messages: list[Message]) -> None:
        tickets: list[DecidedTicket] = []
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
            else:
                tickets.append(ticket)
        loop = asyncio.get_running_loop()
        write = await loop.run_in_executor(
            self.executor, self.tracker.observe, [t.sighting() for t in tickets]
        )
        await self._retry("hot-spot write", lambda: self.tracker.store.save(write))
        found = dict(write.assignments)
        topic = self.settings.topics.detected
        outgoing = dead + [detected_message(t, found[t.ticket_id], topic) for t in tickets]
        await self._retry("hot-spot publish", lambda: self.producer.send_all(outgoing))
        self.detected += len(tickets)
        log.info("hot-spot batch committed", tickets=len(tickets), detected=self.detected)

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
