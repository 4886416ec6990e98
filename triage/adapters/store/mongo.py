"""The MongoDB store: one document per ticket with its decisions, plus dead-letter records."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, IndexModel, ReturnDocument, UpdateOne
from pymongo.errors import (
    BulkWriteError,
    CollectionInvalid,
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
)

from triage.adapters.store.counter_cache import Grain, Parts, select
from triage.adapters.store.counters import COUNTERS, STATE_FIELDS, MongoCounters
from triage.adapters.store.records import (
    LOCAL_TZ,
    TICKET_INDEXES,
    Collection,
    DeadLetterRecord,
    Doc,
    EventWrite,
    StoreCounts,
    TicketRecord,
    event_update,
    new_document,
    store_counts,
    ticket_update,
)
from triage.core.aggregation import run_pipeline
from triage.core.errors import StoreError, StoreUnavailableError
from triage.core.stats import StatsQuery, reason_kind

_DUPLICATE_KEY = 11000
REFUSALS = "refused_events"
# Settled tickets by time, for `triage outcomes export`; sparse, so inserts do not pay for it.
SETTLED_INDEX = IndexModel([("accepted_at", 1)], name="accepted_at_sparse", sparse=True)


class MongoTicketStore:
    def __init__(
        self, uri: str, db: str, *, timeout_ms: int = 5_000, counters: bool = True
    ) -> None:
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, connect=False
        )
        self._db = self._client[db]
        self.tickets = self._db["tickets"]
        self.deadletters = self._db["deadletters"]
        self.events = self._db["events"]
        # Keyed by event id: the unique ``_id`` index is all a lookup needs.
        self.refusals = self._db[REFUSALS]
        self.model_activations = self._db["model_activations"]
        # Daily statistics counters, written with every ticket, event and dead letter.
        self.counters = MongoCounters(self._db, enabled=counters)

    async def ensure_indexes(self) -> None:
        try:
            await self.tickets.create_indexes([IndexModel(key) for key in TICKET_INDEXES])
            await self.events.create_indexes([IndexModel("event_id", unique=True)])
            # Made here, before any insert can create it (see the README on SecantusDB).
            if not await self._db.list_collection_names(filter={"name": REFUSALS}):
                with contextlib.suppress(CollectionInvalid):
                    await self._db.create_collection(REFUSALS)
            await self.tickets.create_indexes([SETTLED_INDEX])
            await self.counters.ensure_indexes()
            await self.counters.recover_stale(self.tickets)
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def ping(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def upsert_batch(
        self, records: Sequence[TicketRecord], *, defer_counts: bool = False
    ) -> None:
        if not records:
            return
        now = datetime.now(UTC)
        updates = [ticket_update(r, now) for r in records]
        # Most tickets are new: a plain insert is several times faster than an upsert. Those
        # already stored (replays, re-decisions) fail on the key and take the idempotent update.
        docs = [new_document(f, u) for f, u in updates]
        try:
            op = await self.counters.begin("tickets", [d["_id"] for d in docs])
            if op is not None:
                for doc in docs:
                    doc["stats_op"] = op
            inserted = docs
            failed: set[int] = set()
            try:
                await self.tickets.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e["code"] != _DUPLICATE_KEY for e in errors):
                    raise StoreError(f"insert failed: {errors[:3]}") from exc
                failed = {e["index"] for e in errors}
                inserted = [d for i, d in enumerate(docs) if i not in failed]
            if failed:
                existing = [updates[i] for i in sorted(failed)]
                old = await self.counters.before_update(
                    self.tickets, [f["_id"] for f, _ in existing]
                )
                await self._bulk(self.tickets, [UpdateOne(f, u, upsert=True) for f, u in existing])
                await self.counters.count_redecided(old, existing)
            if defer_counts:
                self.counters.defer(op, inserted)
            else:
                await self.counters.count_inserted(op, inserted)
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def flush_counts(self) -> None:
        try:
            await self.counters.flush()
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def add_deadletters(self, records: Sequence[DeadLetterRecord]) -> None:
        if not records:
            return
        now = datetime.now(UTC)
        docs = [
            {
                "_id": r.key,
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "reason": r.reason,
                "size": r.size,
                "at": now,
                "reason_kind": reason_kind(r.reason),
                "day": now.astimezone(LOCAL_TZ).date().isoformat(),
            }
            for r in records
        ]
        try:
            await self.counters.write_deadletters(self.deadletters, docs)
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def deadletter_stored(self, key: str) -> bool:
        try:
            return await self.deadletters.find_one({"_id": key}, {"_id": 1}) is not None
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def _bulk(self, collection: Any, ops: list[UpdateOne]) -> None:
        try:
            await collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # A duplicate key is the upsert of a decision already stored: the replay case.
            errors = [e for e in exc.details.get("writeErrors", []) if e["code"] != _DUPLICATE_KEY]
            if errors or exc.details.get("writeConcernErrors"):
                raise StoreError(f"bulk write failed: {errors[:3]}") from exc
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def get(self, ticket_id: str) -> Doc | None:
        try:
            doc: Doc | None = await self.tickets.find_one({"_id": ticket_id})
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return doc

    async def counts(self) -> StoreCounts:
        try:
            cursor = await self.tickets.aggregate(
                [{"$group": {"_id": {"s": "$status", "d": "$department"}, "n": {"$sum": 1}}}]
            )
            rows = await cursor.to_list()
            deadletters = await self.deadletters.count_documents({})
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return store_counts(
            ((r["_id"].get("s"), r["_id"].get("d"), r["n"]) for r in rows), deadletters
        )

    async def close(self) -> None:
        await self._client.close()

    async def aggregate(self, collection: Collection, pipeline: list[Doc]) -> list[Doc]:
        """The rows of ``pipeline`` on one collection (statistics; see triage.core.stats).

        The counters are read from their copy in memory (see CounterCache)."""
        try:
            if collection == COUNTERS:
                docs = await self.counters.cache.read()
                selected = select(docs, pipeline)
                return run_pipeline(docs, pipeline) if selected is None else selected
            cursor = await self._db[collection].aggregate(pipeline)
            rows: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return rows

    async def counter_parts(self, query: StatsQuery, grain: Grain) -> Parts:
        """What the statistics of ``query`` read from the counters (see CounterView.parts)."""
        try:
            view = await self.counters.cache.current()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return view.parts(query, grain)

    async def find_event(self, event_id: str) -> Doc | None:
        try:
            doc: Doc | None = await self.events.find_one({"event_id": event_id})
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return doc

    async def apply_event(self, write: EventWrite) -> bool:
        filter_, update = event_update(write)
        try:
            old = await self.tickets.find_one_and_update(
                filter_, update, projection=STATE_FIELDS, return_document=ReturnDocument.BEFORE
            )
            if old is None:
                return False
            await self.counters.count_event(
                write.event,
                old,
                from_status=old.get("status"),
                from_department=old.get("department"),
                to_status=write.status,
                to_department=write.department,
            )
            # After the ticket and its counters: a crash in between leaves the event in the
            # ticket's timeline, where a redelivery finds it and writes this record then.
            await self._record_event(write.event)
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return True

    async def record_event(self, event: Doc) -> None:
        """Write the event record if it is not there yet (the crash-between-writes repair);
        its counters first, which count once however often this runs."""
        try:
            ticket = await self.tickets.find_one({"_id": event["ticket_id"]}, STATE_FIELDS)
            if ticket is not None and "from_status" in event:
                await self.counters.count_event(
                    event,
                    ticket,
                    from_status=event["from_status"],
                    from_department=event.get("from_department"),
                    to_status=event.get("to_status"),
                    to_department=event.get("department"),
                )
            await self._record_event(event)
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def _record_event(self, event: Doc) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.events.insert_one(dict(event))

    async def mark_published(self, event_id: str) -> None:
        try:
            await self.events.update_one({"event_id": event_id}, {"$set": {"published": True}})
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def find_refusal(self, event_id: str) -> Doc | None:
        try:
            doc: Doc | None = await self.refusals.find_one({"_id": event_id})
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return doc

    async def record_refusal(self, refusal: Doc) -> Doc | None:
        try:
            try:
                await self.refusals.insert_one(dict(refusal))
            except DuplicateKeyError:
                earlier: Doc | None = await self.refusals.find_one({"_id": refusal["_id"]})
                return earlier
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return None

    async def claim_dead_letter(self, event_id: str, source: Doc) -> Doc | None:
        try:
            doc: Doc | None = await self.refusals.find_one_and_update(
                {"_id": event_id, "dead_letter": None},
                {"$set": {"dead_letter": source}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                doc = await self.refusals.find_one({"_id": event_id})
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return doc

    async def mark_dead_lettered(self, event_id: str) -> None:
        try:
            await self.refusals.update_one(
                {"_id": event_id}, {"$set": {"dead_letter.written": True}}
            )
        except PyMongoError as exc:
            raise translate_error(exc) from exc

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
            raise translate_error(exc) from exc
        return docs

    async def activations(self, limit: int) -> list[Doc]:
        try:
            cursor = self.model_activations.find({}).sort("_id", -1).limit(limit)
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return docs

    async def add_activation(self, doc: Doc) -> bool:
        try:
            await self.model_activations.insert_one(dict(doc))
        except DuplicateKeyError:
            return False
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return True


def translate_error(exc: PyMongoError) -> StoreError:
    if isinstance(exc, ConnectionFailure):
        return StoreUnavailableError(f"MongoDB unreachable: {type(exc).__name__}")
    return StoreError(f"MongoDB error: {type(exc).__name__}: {exc}")
