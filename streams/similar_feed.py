"""Keeps a replica's `similar` window (``SimilarIndex``) equal to every other replica's.

Each replica that serves `POST /v1/suggest` reads all of ``<prefix>.detected`` itself (no
group: every replica needs every ticket). It notes the end of the topic and the last ticket
published before it, rebuilds the window from MongoDB up to that ticket, then follows the topic
from the noted end: the stage stores a batch before it publishes it, so whatever the rebuild
left out is after that point, and comes in the order every other replica took it.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from datetime import datetime

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, KafkaTimeoutError

from streams.sightings import decode_detected
from triage.adapters.hotspot_tracker import Published, SimilarIndex
from triage.core.errors import StoreError
from triage.core.hotspots import Sighting
from triage.core.settings import Settings

__all__ = ["SimilarFeed"]

log = structlog.get_logger("streams.similar_feed")

# Messages read back from the end of the topic to find the last ticket published.
TAIL = 64
# How long reading them back may take before the window is opened again from the start.
READ_WITHIN_S = 30.0


class SimilarFeed:
    """``open()`` rebuilds the window; ``run()`` follows the stage's output until stopped."""

    def __init__(
        self, settings: Settings, index: SimilarIndex, *, executor: Executor | None = None
    ) -> None:
        self.settings, self.index, self.executor = settings, index, executor
        self._tp = TopicPartition(settings.topics.detected, 0)
        self._consumer: AIOKafkaConsumer | None = None

    async def open(self) -> None:
        """Note where the topic ends, rebuild from MongoDB, and be ready to go on from there."""
        await self.close()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=f"{self.settings.group_id}-similar",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._consumer = consumer
        await consumer.start()
        consumer.assign([self._tp])
        end = (await consumer.end_offsets([self._tp]))[self._tp]
        await self.index.rebuild(await self._published(consumer, end))
        consumer.seek(self._tp, end)

    async def _published(self, consumer: AIOKafkaConsumer, end: int) -> Published | None:
        """The last ticket published before ``end``, read back ``TAIL`` messages at a time
        until one received earlier shows every ticket of its `received_at` was seen (None on
        an empty topic, or one whose tail cannot be read)."""
        tail: list[tuple[str, datetime]] = []
        stop = end
        while stop > 0:
            start = max(0, stop - TAIL)
            tail = await self._read(consumer, start, stop) + tail
            stop = start
            if tail and Published.after(tail[:1]).at < Published.after(tail).at:
                break
        return Published.after(tail) if tail else None

    async def _read(
        self, consumer: AIOKafkaConsumer, start: int, stop: int
    ) -> list[tuple[str, datetime]]:
        """Ticket ids and `received_at` of the messages from ``start`` to before ``stop``: all
        of them, or KafkaTimeoutError (a tail cut short would put the cut too early, and the
        tickets between it and ``stop`` in no window at all)."""
        consumer.seek(self._tp, start)
        out: list[tuple[str, datetime]] = []
        deadline = time.monotonic() + READ_WITHIN_S
        while (position := await consumer.position(self._tp)) < stop:
            if time.monotonic() > deadline:
                raise KafkaTimeoutError(f"read {position - start} of {stop - start} messages")
            got = await consumer.getmany(self._tp, timeout_ms=1000, max_records=stop - position)
            for record in got.get(self._tp, []):
                ticket = decode_detected(record.value) if record.offset < stop else "after"
                if not isinstance(ticket, str):
                    out.append((ticket.ticket_id, ticket.received_at))
        return out

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def run(self, stopping: asyncio.Event) -> None:
        """Follow; on a broker or store failure, open again (a fresh rebuild) and go on."""
        try:
            while not stopping.is_set():
                try:
                    if self._consumer is None:
                        await self.open()
                    if self._consumer is not None:
                        await self._follow(self._consumer, stopping)
                except (KafkaError, StoreError, OSError) as exc:
                    log.warning("similar window feed failed, reopening", error=type(exc).__name__)
                    await self.close()
                    await asyncio.sleep(1.0)
        finally:
            await self.close()

    async def _follow(self, consumer: AIOKafkaConsumer, stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                fetch = asyncio.ensure_future(consumer.getmany(timeout_ms=1000, max_records=2000))
                await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()
                    return
                rows: list[tuple[Sighting, str]] = []
                for records in fetch.result().values():
                    for record in records:
                        ticket = decode_detected(record.value)
                        if isinstance(ticket, str) or ticket.hotspot_id is None:
                            continue  # only the stage writes here
                        rows.append((ticket.sighting(), ticket.hotspot_id))
                if rows:
                    await loop.run_in_executor(self.executor, self.index.follow, rows)
        finally:
            stopped.cancel()
