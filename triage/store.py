"""The MongoDB store: one document per ticket with its decisions, plus dead-letter records.

The only module that imports pymongo. ``MemoryTicketStore`` keeps the same contract in memory
for unit tests. Writes are idempotent: replaying a batch changes nothing, since a ticket is
keyed by ticket_id, a decision is pushed only when its decision_id is not there yet, and a dead
letter is keyed by its source topic, partition and offset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from pymongo import AsyncMongoClient, IndexModel, UpdateOne
from pymongo.errors import BulkWriteError, ConnectionFailure, PyMongoError

from triage.errors import StoreError, StoreUnavailableError
from triage.routing import Decision

__all__ = [
    "DeadLetterRecord",
    "MemoryTicketStore",
    "MongoTicketStore",
    "StoreCounts",
    "TicketRecord",
    "TicketStore",
]

Doc = dict[str, Any]
# China keeps one offset all year (no daylight saving since 1991), so a fixed zone is exact
# and needs no tz database in slim images.
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_DUPLICATE_KEY = 11000


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


class TicketStore(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def ping(self) -> None: ...
    async def upsert_batch(self, records: Sequence[TicketRecord]) -> None: ...
    async def add_deadletters(self, records: Sequence[DeadLetterRecord]) -> None: ...
    async def get(self, ticket_id: str) -> Doc | None: ...
    async def counts(self) -> StoreCounts: ...
    async def close(self) -> None: ...


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

    async def ensure_indexes(self) -> None:
        try:
            await self.tickets.create_indexes(
                [IndexModel("status"), IndexModel("department"), IndexModel("received_day")]
            )
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
