"""Keeps a replica's `similar` window (``SimilarIndex``) equal to every other replica's.

Each replica that serves `POST /v1/suggest` reads all of ``<prefix>.detected`` itself (no
group: every replica needs every ticket). It notes the end of the topic, rebuilds the window
from MongoDB, then follows the topic from the noted end: the stage stores a batch before it
publishes it, so whatever the rebuild missed is after that point, and a ticket read twice is
skipped (the window is keyed by ticket id).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.sightings import decode_detected
from triage.adapters.hotspot_tracker import SimilarIndex
from triage.core.errors import StoreError
from triage.core.hotspots import Sighting
from triage.core.settings import Settings

__all__ = ["follow_detected"]

log = structlog.get_logger("streams.similar_feed")


async def follow_detected(
    settings: Settings,
    index: SimilarIndex,
    stopping: asyncio.Event,
    *,
    executor: Executor | None = None,
) -> None:
    """Rebuild ``index`` and feed it the stage's output until ``stopping`` is set."""
    tp = TopicPartition(settings.topics.detected, 0)
    while not stopping.is_set():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.group_id}-similar",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            await index.rebuild()
            consumer.seek(tp, end)
            await _follow(consumer, index, stopping, executor)
        except (KafkaError, StoreError, OSError) as exc:
            log.warning("similar window feed failed, starting again", error=type(exc).__name__)
            await asyncio.sleep(1.0)
        finally:
            await consumer.stop()


async def _follow(
    consumer: AIOKafkaConsumer,
    index: SimilarIndex,
    stopping: asyncio.Event,
    executor: Executor | None,
) -> None:
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
                        continue  # the stage writes these; nothing else can
                    rows.append((ticket.sighting(), ticket.hotspot_id))
            if rows:
                await loop.run_in_executor(executor, index.follow, rows)
    finally:
        stopped.cancel()
