"""What the store keeps and the contract every store meets: records, the protocol, the update
documents that make each write idempotent (shared by the MongoDB and in-memory stores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from triage.adapters.store.counter_cache import Grain, Parts
from triage.core.routing import Decision
from triage.core.stats import StatsQuery

Doc = dict[str, Any]
Collection = Literal["tickets", "events", "deadletters", "daily_counters"]
# China keeps one offset all year (no daylight saving since 1991), so a fixed zone is exact
# and needs no tz database in slim images.
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
# The queues (by status; by department and status, in ticket order) and the recount of the
# statistics (by local day) read through these. Each secondary index costs writes: on
# SecantusDB, inserting a batch of tickets takes 2.5x as long with three as with none
# (bench/pipeline.py measures its ceiling against the same). A department's queue asks for a
# department and a status at once, which SecantusDB answers from single-field indexes by
# reading the whole collection; the compound index reads only that queue's tickets, and serves
# a department alone as well.
TICKET_INDEXES: tuple[str | list[tuple[str, int]], ...] = (
    "status",
    [("department", 1), ("status", 1), ("_id", 1)],
    "received_day",
)


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket as stored: texts already masked, with the decision taken for it."""

    ticket_id: str
    received_at: datetime
    channel: str
    title: str
    body: str
    location: str | None
    decision: Decision
    hotspot_id: str | None = None  # set when hot-spot detection runs (triage.core.hotspots)
    # The shadow model's top label and confidence, when one runs (it routes nothing).
    shadow: Doc | None = None


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """Where a refused message came from and why; never its content (it may hold PII)."""

    topic: str
    partition: int
    offset: int
    reason: str
    size: int

    @property
    def key(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True, slots=True)
class StoreCounts:
    tickets: int
    review: int
    routed: Mapping[str, int]
    deadletters: int


@dataclass(frozen=True, slots=True)
class EventWrite:
    """One outcome event applied to a ticket: its record, the new state and the timeline entry.

    ``revision`` is the ticket revision the event was decided on; the write applies only if the
    ticket is still at that revision, so two concurrent events can never both pass the state
    machine on the same old state.
    """

    ticket_id: str
    event: Doc
    revision: int
    status: str
    department: str | None
    history: Doc
    assignment: Doc | None = None


class TicketStore(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def ping(self) -> None: ...
    # With ``defer_counts`` the counters of the new tickets wait in memory for
    # ``flush_counts``, which returns once every counter deferred before it is stored (and
    # may be called again after a failure); the batch is journaled, so a crash in between
    # is repaired when the batch is replayed.
    async def upsert_batch(
        self, records: Sequence[TicketRecord], *, defer_counts: bool = False
    ) -> None: ...
    async def flush_counts(self) -> None: ...
    async def add_deadletters(self, records: Sequence[DeadLetterRecord]) -> None: ...
    async def deadletter_stored(self, key: str) -> bool: ...
    async def get(self, ticket_id: str) -> Doc | None: ...
    async def counts(self) -> StoreCounts: ...
    async def close(self) -> None: ...
    async def aggregate(self, collection: Collection, pipeline: list[Doc]) -> list[Doc]: ...
    async def counter_parts(self, query: StatsQuery, grain: Grain) -> Parts: ...
    async def find_event(self, event_id: str) -> Doc | None: ...
    async def apply_event(self, write: EventWrite) -> bool: ...
    async def mark_published(self, event_id: str) -> None: ...
    async def list_tickets(
        self, *, department: str | None, status: str | None, limit: int, after: str | None
    ) -> list[Doc]: ...
    async def record_event(self, event: Doc) -> None: ...
    # Refused events, keyed by event id (``_id``), apart from the applied ones in ``events``.
    async def find_refusal(self, event_id: str) -> Doc | None: ...
    # Stores a refusal unless one is stored under its id already: that one is returned then.
    async def record_refusal(self, refusal: Doc) -> Doc | None: ...
    # Names the message that dead-letters the refusal, unless one is named already; the
    # refusal as stored after (None if there is none).
    async def claim_dead_letter(self, event_id: str, source: Doc) -> Doc | None: ...
    async def mark_dead_lettered(self, event_id: str) -> None: ...
    async def activations(self, limit: int) -> list[Doc]: ...
    async def add_activation(self, doc: Doc) -> bool: ...


def event_update(write: EventWrite) -> tuple[Doc, Doc]:
    """Filter and update of the ticket for one event, guarded by the ticket's revision."""
    at = write.history["at"]
    revision: Doc | int = {"$exists": False} if write.revision == 0 else write.revision
    update: Doc = {
        "$set": {
            "status": write.status,
            "department": write.department,
            "updated_at": at,
            f"{write.status}_at": at,
        },
        "$inc": {"revision": 1},
        "$push": {"status_history": write.history},
    }
    if write.assignment is not None:
        update["$push"]["assignments"] = write.assignment
    return {"_id": write.ticket_id, "revision": revision}, update


def ticket_update(record: TicketRecord, now: datetime) -> tuple[Doc, Doc]:
    """Filter and update of the idempotent upsert of one ticket and its decision."""
    decision = record.decision
    received = record.received_at.astimezone(UTC)
    status = decision.kind
    filter_ = {"_id": record.ticket_id, "decisions.decision_id": {"$ne": decision.decision_id}}
    update: Doc = {
        "$setOnInsert": {
            "received_at": received,
            "received_day": record.received_at.astimezone(LOCAL_TZ).date().isoformat(),
            "channel": record.channel,
            "created_at": now,
            # The first decision, kept apart from the current state that events overwrite, so
            # statistics need no array operators: auto-route rate and first-routing accuracy.
            "auto_routed": status == "routed",
            "first_department": first_department(decision),
            "first_label": decision.label,
            "first_confidence": decision.confidence,
            "first_model_version": decision.model_version,
        },
        "$set": {
            "title": record.title,
            "body": record.body,
            "location": record.location,
            "district": decision.district,
            "department": decision.department,
            "label": decision.label,
            "status": status,
            "updated_at": now,
        },
        "$push": {
            "decisions": {**decision.to_json(), "at": now},
            "status_history": {
                "status": status,
                "at": now,
                "by": "triage",
                "department": decision.department,
            },
        },
    }
    if record.hotspot_id is not None:
        update["$set"]["hotspot_id"] = record.hotspot_id
    if record.shadow is not None:
        update["$set"]["shadow"] = record.shadow
    return filter_, update


def first_department(decision: Decision) -> str | None:
    """Where the model sent the ticket, or would have: its top suggestion when reviewed."""
    if decision.kind == "routed":
        return decision.department
    return decision.suggestions[0].department if decision.suggestions else None


def new_document(filter_: Doc, update: Doc) -> Doc:
    """The document the upsert would create for a ticket not stored yet."""
    doc: Doc = {"_id": filter_["_id"], **update["$setOnInsert"], **update["$set"]}
    for key, value in update["$push"].items():
        doc[key] = [value]
    return doc


def store_counts(rows: Any, deadletters: int) -> StoreCounts:
    routed: dict[str, int] = {}
    review = total = 0
    for status, department, n in rows:
        total += n
        if status == "review":
            review += n
        elif status == "routed" and department:
            routed[department] = routed.get(department, 0) + n
    return StoreCounts(tickets=total, review=review, routed=routed, deadletters=deadletters)
