"""One batch, from raw messages to what must be stored and published. No Kafka client here.

``plan_batch`` decodes, classifies (in an executor, one call per batch) and decides;
``deliver`` writes the store and publishes, returning only once both are acknowledged. The
Kafka loop in ``streams.consumer`` commits after ``deliver``; unit tests drive these two
functions with in-memory messages, store and producer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

import structlog

from streams.codec import Ticket, decode_ticket, encode
from streams.deadletter import dead_letter
from streams.producer import Outgoing, Producer
from streams.sightings import decided_message
from triage.adapters.store import DeadLetterRecord, TicketRecord, TicketStore
from triage.core.departments import Registry
from triage.core.domain import Classifier, Prediction, TicketText
from triage.core.routing import Decision, content_hash, decide
from triage.core.settings import Settings

__all__ = ["Analyzer", "Message", "Plan", "Stats", "deliver", "plan_batch"]

log = structlog.get_logger("streams.batch")


@dataclass(frozen=True, slots=True)
class Message:
    """A consumed record, free of any client library's types."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Analyzer:
    """Text preparation (normalise, mask) and the classifier, used together per batch."""

    prepare: Callable[[str, str], TicketText]
    classifier: Classifier
    # A model in shadow: it scores every batch too, and routes nothing (triage.adapters.shadow).
    shadow: Classifier | None = None

    def run(self, tickets: Sequence[Ticket], k: int, n_evidence: int) -> list[Analysed]:
        texts = [self.prepare(t.title or "", t.body) for t in tickets]
        # Locations are free text that callers sometimes fill with a phone number.
        locations = [
            None if t.location is None else self.prepare("", t.location).body for t in tickets
        ]
        predictions = self.classifier.predict(texts, k=k, n_evidence=n_evidence) if texts else []
        shadows: list[Prediction | None] = [None] * len(texts)
        if self.shadow is not None and texts:
            shadows = list(self.shadow.predict(texts, k=1, n_evidence=0))
        rows = zip(tickets, texts, locations, predictions, shadows, strict=True)
        return [Analysed(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class Analysed:
    ticket: Ticket
    text: TicketText
    location: str | None
    prediction: Prediction
    shadow: Prediction | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one batch must store and publish before its offsets may be committed."""

    records: tuple[TicketRecord, ...]
    deadletters: tuple[DeadLetterRecord, ...]
    outgoing: tuple[Outgoing, ...]
    offsets: dict[tuple[str, int], int]
    # For the hot-spot stage, published once the tickets are stored (empty with detection off).
    decided: tuple[Outgoing, ...] = ()


@dataclass
class Stats:
    consumed: int = 0
    routed: int = 0
    review: int = 0
    deadletters: int = 0
    batches: int = 0
    retries: int = 0
    first_consume: float | None = None
    last_commit: float | None = None
    by_department: dict[str, int] = field(default_factory=dict)

    def add(self, plan: Plan) -> None:
        self.batches += 1
        self.deadletters += len(plan.deadletters)
        for record in plan.records:
            if record.decision.kind == "routed" and record.decision.department:
                self.routed += 1
                dept = record.decision.department
                self.by_department[dept] = self.by_department.get(dept, 0) + 1
            else:
                self.review += 1
        self.last_commit = time.time()


async def plan_batch(
    messages: Sequence[Message],
    *,
    analyzer: Analyzer,
    registry: Registry,
    settings: Settings,
    executor: Executor | None = None,
) -> Plan:
    """Decode, classify and decide; bad messages become dead letters, never exceptions.

    With hot-spot detection on (``TRIAGE_HOTSPOT_WINDOW_DAYS``), each decided ticket is also
    addressed to the hot-spot stage (``Plan.decided``); routing does no detection itself.
    """
    topics = settings.topics
    latest: dict[str, Ticket] = {}
    sources: dict[str, int] = {}
    dead: list[tuple[Outgoing, DeadLetterRecord]] = []
    offsets: dict[tuple[str, int], int] = {}
    for msg in messages:
        tp = (msg.topic, msg.partition)
        offsets[tp] = max(offsets.get(tp, 0), msg.offset + 1)
        result = decode_ticket(msg.value, settings.max_body_chars)
        if isinstance(result, str):
            log.warning(
                "dead letter",
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                reason=result,
            )
            dead.append(
                dead_letter(
                    msg.topic,
                    msg.partition,
                    msg.offset,
                    msg.key,
                    msg.value,
                    result,
                    deadletter_topic=topics.deadletter,
                )
            )
        else:
            # A ticket sent twice in one batch: the later copy is the newer state.
            latest.pop(result.ticket_id, None)
            latest[result.ticket_id] = result
            sources[result.ticket_id] = msg.partition
    tickets = list(latest.values())
    loop = asyncio.get_running_loop()
    analysed = await loop.run_in_executor(
        executor, analyzer.run, tickets, settings.top_k, settings.n_evidence
    )
    thresholds = analyzer.classifier.thresholds
    records: list[TicketRecord] = []
    decided: list[Outgoing] = []
    outgoing: list[Outgoing] = [out for out, _ in dead]
    for item in analysed:
        t = item.ticket
        digest = content_hash(t.title, t.body, t.location, t.channel, t.received_at.isoformat())
        decision = decide(
            item.prediction,
            registry,
            ticket_id=t.ticket_id,
            digest=digest,
            location=t.location,
            thresholds=thresholds,
            text=item.text,
        )
        record = TicketRecord(
            ticket_id=t.ticket_id,
            received_at=t.received_at,
            channel=t.channel,
            title=item.text.title,
            body=item.text.body,
            location=item.location,
            decision=decision,
            shadow=_shadow_score(item.shadow, decision),
        )
        records.append(record)
        outgoing.append(_routing_message(record, settings))
        if settings.hotspot_window_days > 0:
            caller = t.caller
            who = (caller.phone or caller.name) if caller is not None else None
            topic = settings.topics.decided
            decided.append(decided_message(record, who, topic, sources[t.ticket_id]))
    return Plan(tuple(records), tuple(d for _, d in dead), tuple(outgoing), offsets, tuple(decided))


def _shadow_score(shadow: Prediction | None, decision: Decision) -> dict[str, object] | None:
    """What the shadow model said, stored beside the decision; it routes nothing."""
    if shadow is None:
        return None
    return {
        "version": shadow.model_version,
        "label": shadow.label,
        "confidence": shadow.confidence,
        "agrees": shadow.label == decision.label,
    }


def _routing_message(record: TicketRecord, settings: Settings) -> Outgoing:
    decision: Decision = record.decision
    topics = settings.topics
    if decision.kind == "routed" and decision.department is not None:
        topic = topics.routed(decision.department)
    else:
        topic = topics.review
    value = {
        "ticket_id": record.ticket_id,
        "decision_id": decision.decision_id,
        "received_at": record.received_at.isoformat(),
        "channel": record.channel,
        "title": record.title,
        "body": record.body,
        "location": record.location,
        "decision": decision.to_json(),
    }
    headers = (
        ("ticket_id", record.ticket_id.encode()),
        ("decision_id", decision.decision_id.encode()),
    )
    return Outgoing(topic, record.ticket_id.encode(), encode(value), headers)


async def deliver(
    plan: Plan,
    *,
    store: TicketStore,
    producer: Producer,
    done: set[str] | None = None,
    defer_counts: bool = False,
) -> None:
    """Store and publish concurrently; return when both are acknowledged, else raise.

    The hot-spot stage's records go out only once the tickets are stored, so that the stage
    always finds the ticket document it records a hot spot on.

    ``done`` records the halves already acknowledged, so a retry after a store outage does
    not publish the batch a second time (consumers could deduplicate, but need not). With
    ``defer_counts`` the new tickets' counters wait for ``store.flush_counts()``, which must
    return before the batch's offsets are committed.
    """
    done = set() if done is None else done

    async def store_part() -> None:
        if "store" not in done:
            await store.upsert_batch(plan.records, defer_counts=defer_counts)
            await store.add_deadletters(plan.deadletters)
            done.add("store")
        if plan.decided and "decided" not in done:
            await producer.send_all(plan.decided)
            done.add("decided")

    async def produce_part() -> None:
        if "produce" not in done:
            await producer.send_all(plan.outgoing)
            done.add("produce")

    results = await asyncio.gather(store_part(), produce_part(), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
