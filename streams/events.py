"""The ``hotline.events`` consumer (group ``<group>-events``, by default ``triage-events``).

Each event goes through the same handler as ``POST /v1/tickets/{id}/events``. An event that
cannot be decoded, or that the handler refuses (unknown ticket, wrong state, unknown
department), becomes a dead letter with the reason; a store or broker outage is retried on the
same event without committing, so nothing is lost and, events being idempotent, nothing doubles.
Events of one ticket share a key, hence a partition, and are applied in order.

A refused event is remembered by the handler before its dead letter is written, and the
offset is committed after both: a redelivery (after a crash or a rebalance, or the same event
sent again) is refused with the same reason, changes nothing, and writes no second dead
letter. The refusal names the message it is dead-lettered as, and is marked once that is
written; only a crash between the two writes publishes it again (same source offset).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import msgspec
import structlog
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from streams.batch import Message
from streams.consumer import Backoff, commit_owned, fetch_unless_stopped, group_consumer
from streams.deadletter import dead_letter
from streams.exceptions import StreamsError
from streams.producer import Producer
from triage.adapters.outcome_handler import EventIn, handle_event
from triage.adapters.store import TicketStore
from triage.core.departments import Registry
from triage.core.errors import StoreError
from triage.core.outcomes import Actor, OutcomeError
from triage.core.settings import Settings

__all__ = ["EventConsumer", "actor_of", "apply_message"]

log = structlog.get_logger("streams.events")

_decoder = msgspec.json.Decoder(EventIn)


def actor_of(event: EventIn) -> Actor:
    """Who sends an event arriving on Kafka: agents reassign, departments do the rest."""
    if event.type == "reassign":
        return Actor("agent")
    return Actor("department", event.department)


async def apply_message(
    msg: Message,
    *,
    settings: Settings,
    store: TicketStore,
    producer: Producer,
    registry: Registry,
) -> str | None:
    """Apply one event message; the refusal reason if it became a dead letter, else None."""
    reason: str
    try:
        event = _decoder.decode(msg.value or b"")
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        reason = f"invalid event: {exc}"
    else:
        if event.ticket_id is None:
            reason = "invalid event: ticket_id is required on the events topic"
        else:
            try:
                await handle_event(
                    event.ticket_id,
                    event,
                    actor_of(event),
                    store=store,
                    producer=producer,
                    registry=registry,
                    topics=settings.topics,
                )
            except OutcomeError as exc:
                reason = f"refused: {exc.reason}"
                if exc.refusal is not None:
                    await _dead_letter_once(msg, exc, reason, settings, store, producer)
                    return reason
            else:
                return None
    out, record = dead_letter(
        msg.topic,
        msg.partition,
        msg.offset,
        msg.key,
        msg.value,
        reason,
        deadletter_topic=settings.topics.deadletter,
    )
    if await store.deadletter_stored(record.key):
        # Stored after it was published: a redelivery of a message dead-lettered already.
        log.info("event dead-lettered before", topic=msg.topic, offset=msg.offset)
        return reason
    await producer.send_all([out])
    await store.add_deadletters([record])
    log.warning(
        "event dead-lettered",
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        reason=reason[:200],
    )
    return reason


async def _dead_letter_once(
    msg: Message,
    refused: OutcomeError,
    reason: str,
    settings: Settings,
    store: TicketStore,
    producer: Producer,
) -> None:
    """The dead letter of a remembered refusal, unless it is written already."""
    refusal = refused.refusal or {}
    event_id = str(refusal["_id"])
    here = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
    source = refusal.get("dead_letter")
    if source is None:
        claimed = await store.claim_dead_letter(event_id, {**here, "written": False})
        source = (claimed or {}).get("dead_letter") or {**here, "written": False}
    if source.get("written"):
        log.info(
            "event refused again, dead letter written before",
            **here,
            event_id=event_id,
            first_offset=source.get("offset"),
            reason=reason[:200],
        )
        return
    out, record = dead_letter(
        source["topic"],
        source["partition"],
        source["offset"],
        msg.key,
        msg.value,
        reason,
        deadletter_topic=settings.topics.deadletter,
    )
    await producer.send_all([out])
    await store.add_deadletters([record])
    await store.mark_dead_lettered(event_id)
    log.warning(
        "event dead-lettered",
        **here,
        event_id=event_id,
        repeated=refused.repeated,
        reason=reason[:200],
    )


class EventConsumer:
    """Consumer group member on the events topic; ``stop()`` ends after the event in hand."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: TicketStore,
        producer: Producer,
        registry: Registry,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings, self.store, self.producer, self.registry = (
            settings,
            store,
            producer,
            registry,
        )
        self.applied = 0
        self.refused = 0
        self._sleep = sleep
        self._stopping = asyncio.Event()
        self._consumer = group_consumer(settings, settings.events_group_id)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        await self._consumer.start()
        try:
            self._consumer.subscribe([self.settings.topics.events])
            while not self._stopping.is_set():
                await self._step()
        finally:
            await self._consumer.stop()
            log.info("events consumer stopped", applied=self.applied, refused=self.refused)

    async def _step(self) -> None:
        fetched = await fetch_unless_stopped(
            self._consumer, self._stopping, timeout_ms=1000, max_records=100
        )
        for tp, messages in (fetched or {}).items():
            for msg in messages:
                await self._apply(msg)
            if self.settings.test_hold_event_commits:
                continue
            await self._commit({tp: messages[-1].offset + 1})

    async def _apply(self, msg: Message) -> None:
        backoff = Backoff()
        while True:
            try:
                reason = await apply_message(
                    msg,
                    settings=self.settings,
                    store=self.store,
                    producer=self.producer,
                    registry=self.registry,
                )
            except (StoreError, StreamsError, KafkaError) as exc:
                delay = backoff.step()
                log.warning("event failed, retrying", error=type(exc).__name__, retry_in_s=delay)
                await self._sleep(delay)
            else:
                if reason is None:
                    self.applied += 1
                else:
                    self.refused += 1
                return

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        await commit_owned(self._consumer, offsets, sleep=self._sleep, stopping=self._stopping)
