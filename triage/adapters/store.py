"""The MongoDB store: one document per ticket with its decisions, plus dead-letter records.

The only module that imports pymongo. ``MemoryTicketStore`` keeps the same contract in memory
for unit tests. Writes are idempotent: replaying a batch changes nothing, since a ticket is
keyed by ticket_id, a decision is pushed only when its decision_id is not there yet, and a dead
letter is keyed by its source topic, partition and offset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from pymongo import AsyncMongoClient, IndexModel, UpdateOne
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, PyMongoError

from triage.core.aggregation import run_pipeline
from triage.core.errors import StoreError, StoreUnavailableError
from triage.core.routing import Decision
from triage.core.stats import reason_kind

__all__ = [
    "DeadLetterRecord",
    "EventWrite",
    "MemoryTicketStore",
    "MongoTicketStore",
    "StoreCounts",
    "TicketRecord",
    "TicketStore",
]

Doc = dict[str, Any]
Collection = Literal["tickets", "events", "deadletters"]
# China keeps one offset all year (no daylight saving since 1991), so a fixed zone is exact
# and needs no tz database in slim images.
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_DUPLICATE_KEY = 11000
# The queues (by status, by department) and the statistics (by local day) read through these.
# Each secondary index costs writes: on SecantusDB, inserting a batch of tickets takes 2.5x as
# long with these three as with none (bench/pipeline.py measures its ceiling against the same).
TICKET_INDEXES = ("status", "department", "received_day")


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
    async def upsert_batch(self, records: Sequence[TicketRecord]) -> None: ...
    async def add_deadletters(self, records: Sequence[DeadLetterRecord]) -> None: ...
    async def get(self, ticket_id: str) -> Doc | None: ...
    async def counts(self) -> StoreCounts: ...
    async def close(self) -> None: ...
    async def aggregate(self, collection: Collection, pipeline: list[Doc]) -> list[Doc]: ...
    async def find_event(self, event_id: str) -> Doc | None: ...
    async def apply_event(self, write: EventWrite) -> bool: ...
    async def mark_published(self, event_id: str) -> None: ...
    async def list_tickets(
        self, *, department: str | None, status: str | None, limit: int, after: str | None
    ) -> list[Doc]: ...
    async def record_event(self, event: Doc) -> None: ...
    async def activations(self, limit: int) -> list[Doc]: ...
    async def add_activation(self, doc: Doc) -> bool: ...


def _event_update(write: EventWrite) -> tuple[Doc, Doc]:
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
    update = {
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
            "status_history": {"status": status, "at": now, "by": "triage"},
        },
    }
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


class MongoTicketStore:
    def __init__(self, uri: str, db: str, *, timeout_ms: int = 5_000) -> None:
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, connect=False
        )
        self._db = self._client[db]
        self.tickets = self._db["tickets"]
        self.deadletters = self._db["deadletters"]
        self.events = self._db["events"]
        self.model_activations = self._db["model_activations"]

    async def ensure_indexes(self) -> None:
        try:
            await self.tickets.create_indexes([IndexModel(key) for key in TICKET_INDEXES])
            await self.events.create_indexes([IndexModel("event_id", unique=True)])
        except PyMongoError as exc:
            raise _translate(exc) from exc

    async def ping(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError as exc:
            raise _translate(exc) from exc

    async def upsert_batch(self, records: Sequence[TicketRecord]) -> None:
        if not records:
            return
        now = datetime.now(UTC)
        updates = [ticket_update(r, now) for r in records]
        # Most tickets are new: a plain insert is several times faster than an upsert. Those
        # already stored (replays, re-decisions) fail on the key and take the idempotent update.
        docs = [new_document(f, u) for f, u in updates]
        try:
            await self.tickets.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e["code"] != _DUPLICATE_KEY for e in errors):
                raise StoreError(f"insert failed: {errors[:3]}") from exc
            existing = [updates[e["index"]] for e in errors]
            await self._bulk(self.tickets, [UpdateOne(f, u, upsert=True) for f, u in existing])
        except PyMongoError as exc:
            raise _translate(exc) from exc

    async def add_deadletters(self, records: Sequence[DeadLetterRecord]) -> None:
        if not records:
            return
        now = datetime.now(UTC)
        ops = [
            UpdateOne(
                {"_id": r.key},
                {
                    "$setOnInsert": {
                        "topic": r.topic,
                        "partition": r.partition,
                        "offset": r.offset,
                        "reason": r.reason,
                        "size": r.size,
                        "at": now,
                        "reason_kind": reason_kind(r.reason),
                        "day": now.astimezone(LOCAL_TZ).date().isoformat(),
                    }
                },
                upsert=True,
            )
            for r in records
        ]
        await self._bulk(self.deadletters, ops)

    async def _bulk(self, collection: Any, ops: list[UpdateOne]) -> None:
        try:
            await collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # A duplicate key is the upsert of a decision already stored: the replay case.
            errors = [e for e in exc.details.get("writeErrors", []) if e["code"] != _DUPLICATE_KEY]
            if errors or exc.details.get("writeConcernErrors"):
                raise StoreError(f"bulk write failed: {errors[:3]}") from exc
        except PyMongoError as exc:
            raise _translate(exc) from exc

    async def get(self, ticket_id: str) -> Doc | None:
        try:
            doc: Doc | None = await self.tickets.find_one({"_id": ticket_id})
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return doc

    async def counts(self) -> StoreCounts:
        try:
            cursor = await self.tickets.aggregate(
                [{"$group": {"_id": {"s": "$status", "d": "$department"}, "n": {"$sum": 1}}}]
            )
            rows = await cursor.to_list()
            deadletters = await self.deadletters.count_documents({})
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return _counts(((r["_id"].get("s"), r["_id"].get("d"), r["n"]) for r in rows), deadletters)

    async def close(self) -> None:
        await self._client.close()

    async def aggregate(self, collection: Collection, pipeline: list[Doc]) -> list[Doc]:
        """The rows of ``pipeline`` on one collection (statistics; see triage.core.stats)."""
        try:
            cursor = await self._db[collection].aggregate(pipeline)
            rows: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return rows

    async def find_event(self, event_id: str) -> Doc | None:
        try:
            doc: Doc | None = await self.events.find_one({"event_id": event_id})
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return doc

    async def apply_event(self, write: EventWrite) -> bool:
        filter_, update = _event_update(write)
        try:
            result = await self.tickets.update_one(filter_, update)
            if result.matched_count == 0:
                return False
            # After the ticket: a crash in between leaves the event in the ticket's timeline,
            # where a redelivery finds it and writes this record then.
            await self._record_event(write.event)
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return True

    async def record_event(self, event: Doc) -> None:
        """Write the event record if it is not there yet (the crash-between-writes repair)."""
        try:
            await self._record_event(event)
        except PyMongoError as exc:
            raise _translate(exc) from exc

    async def _record_event(self, event: Doc) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.events.insert_one(dict(event))

    async def mark_published(self, event_id: str) -> None:
        try:
            await self.events.update_one({"event_id": event_id}, {"$set": {"published": True}})
        except PyMongoError as exc:
            raise _translate(exc) from exc

    async def list_tickets(
        self, *, department: str | None, status: str | None, limit: int, after: str | None
    ) -> list[Doc]:
        filter_: Doc = {}
        if department is not None:
            filter_["department"] = department
        if status is not None:
            filter_["status"] = status
        if after is not None:
            filter_["_id"] = {"$gt": after}
        try:
            cursor = self.tickets.find(filter_).sort("_id", 1).limit(limit)
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return docs

    async def activations(self, limit: int) -> list[Doc]:
        try:
            cursor = self.model_activations.find({}).sort("_id", -1).limit(limit)
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return docs

    async def add_activation(self, doc: Doc) -> bool:
        try:
            await self.model_activations.insert_one(dict(doc))
        except DuplicateKeyError:
            return False
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return True


def _translate(exc: PyMongoError) -> StoreError:
    if isinstance(exc, ConnectionFailure):
        return StoreUnavailableError(f"MongoDB unreachable: {type(exc).__name__}")
    return StoreError(f"MongoDB error: {type(exc).__name__}: {exc}")


def _counts(rows: Any, deadletters: int) -> StoreCounts:
    routed: dict[str, int] = {}
    review = total = 0
    for status, department, n in rows:
        total += n
        if status == "review":
            review += n
        elif status == "routed" and department:
            routed[department] = routed.get(department, 0) + n
    return StoreCounts(tickets=total, review=review, routed=routed, deadletters=deadletters)


@dataclass
class MemoryTicketStore:
    """The same contract in memory; set ``down`` to make every call fail as if unreachable."""

    docs: dict[str, Doc] = field(default_factory=dict)
    deadletters: dict[str, DeadLetterRecord] = field(default_factory=dict)
    events: dict[str, Doc] = field(default_factory=dict)
    model_activations: dict[int, Doc] = field(default_factory=dict)
    down: bool = False
    writes: int = 0

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailableError("memory store is down")

    async def ensure_indexes(self) -> None:
        self._check()

    async def ping(self) -> None:
        self._check()

    async def upsert_batch(self, records: Sequence[TicketRecord]) -> None:
        self._check()
        self.writes += 1
        now = datetime.now(UTC)
        for record in records:
            filter_, update = ticket_update(record, now)
            doc = self.docs.get(record.ticket_id)
            if doc is not None and any(
                d["decision_id"] == record.decision.decision_id for d in doc["decisions"]
            ):
                continue
            if doc is None:
                doc = {"_id": filter_["_id"], **update["$setOnInsert"], "decisions": []}
                doc["status_history"] = []
                self.docs[record.ticket_id] = doc
            doc.update(update["$set"])
            for key, value in update["$push"].items():
                doc[key].append(value)

    async def add_deadletters(self, records: Sequence[DeadLetterRecord]) -> None:
        self._check()
        for record in records:
            self.deadletters.setdefault(record.key, record)

    async def get(self, ticket_id: str) -> Doc | None:
        self._check()
        return self.docs.get(ticket_id)

    async def counts(self) -> StoreCounts:
        self._check()
        rows = [(d["status"], d["department"], 1) for d in self.docs.values()]
        return _counts(rows, len(self.deadletters))

    async def close(self) -> None:
        return None

    async def aggregate(self, collection: Collection, pipeline: list[Doc]) -> list[Doc]:
        self._check()
        docs: list[Doc]
        if collection == "tickets":
            docs = list(self.docs.values())
        elif collection == "events":
            docs = list(self.events.values())
        else:
            docs = [
                {"_id": r.key, "reason": r.reason, "reason_kind": reason_kind(r.reason)}
                for r in self.deadletters.values()
            ]
        return run_pipeline(docs, pipeline)

    async def find_event(self, event_id: str) -> Doc | None:
        self._check()
        return self.events.get(event_id)

    async def apply_event(self, write: EventWrite) -> bool:
        self._check()
        doc = self.docs.get(write.ticket_id)
        if doc is None or doc.get("revision", 0) != write.revision:
            return False
        _, update = _event_update(write)
        doc.update(update["$set"])
        doc["revision"] = write.revision + 1
        for key, value in update["$push"].items():
            doc.setdefault(key, []).append(value)
        await self.record_event(write.event)
        return True

    async def record_event(self, event: Doc) -> None:
        self._check()
        self.events.setdefault(event["event_id"], dict(event))

    async def mark_published(self, event_id: str) -> None:
        self._check()
        if event_id in self.events:
            self.events[event_id]["published"] = True

    async def list_tickets(
        self, *, department: str | None, status: str | None, limit: int, after: str | None
    ) -> list[Doc]:
        self._check()
        docs = [
            d
            for key, d in sorted(self.docs.items())
            if (department is None or d.get("department") == department)
            and (status is None or d.get("status") == status)
            and (after is None or key > after)
        ]
        return docs[:limit]

    async def activations(self, limit: int) -> list[Doc]:
        self._check()
        return [self.model_activations[k] for k in sorted(self.model_activations, reverse=True)][
            :limit
        ]

    async def add_activation(self, doc: Doc) -> bool:
        self._check()
        if doc["_id"] in self.model_activations:
            return False
        self.model_activations[doc["_id"]] = dict(doc)
        return True
