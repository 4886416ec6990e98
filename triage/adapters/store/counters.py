"""The statistics counters in MongoDB: ``daily_counters`` kept at write time, exactly once.

Each write that changes a ticket, an event or a dead letter adds its increments
(triage.core.counters) with one ``$inc`` upsert per counter document, guarded by an operation
id: the filter ``{_id, ops: {$ne: op}}`` matches only if the document has not seen ``op``, the
update pushes ``op`` (the last ``OPS_KEPT`` are kept), and a second application of ``op``
fails as a duplicate key and changes nothing. So re-applying an operation is always safe, and
a crash between the document write and the counter write is repaired by re-applying:

- tickets and dead letters: a batch gets an operation id and a journal entry
  (``counter_journal``: the ids it writes) before it is written; each new document carries
  ``stats_op``. The entry is deleted once the counters are written. A replayed batch meets
  its tickets as duplicates; if their ``stats_op`` still has a journal entry, that operation
  is re-applied from the documents written under it (their state as first inserted).
  Entries older than ``STALE_S`` are re-applied at start, whatever the replays.
- deferred batches (the consumer's): their counts are added up in memory (``defer``) and
  written by ``flush`` as one operation, one update per counter document for all of them.
  A flush first claims its batches' entries (``flush``: its id); of several, it then
  journals itself (``covers``: the batches it claimed), writes the counters under its own
  id, then deletes the batches' entries and its own, in that order. A batch whose entry a
  flush claimed is completed by re-applying the flush (recounted from the documents of every
  batch it covers), never on its own; once the batches' entries are gone, the flush had
  written everything. The consumer commits a batch's offsets only after a flush that holds
  its counts, so a crash before then replays the batch, whose duplicates find the journal as
  above.

Two writers of the same tickets (a rebalance overlap, a replica whose flush is retried after
its partitions moved, a replay by a restarted replica) hand each batch over through its entry,
so exactly one operation counts it. The tickets stamped with a batch's operation are final
once every ticket its entry names exists (whoever inserted it), or when its writer is this
process, whose insert returned. A replica that meets such tickets again takes over an entry
no flush has claimed by marking it ``stolen`` and counts it from the documents, under the
batch's own id; a flush of several batches claims only entries not stolen, and leaves out the
counts of those it could not claim; a flush of one batch writes it under the batch's own id,
as anyone taking it over does. An entry whose tickets are not all there yet is left alone,
as is one claimed by a flush that has not journaled itself yet: their writer is at work, and
if it died, the sweep completes them once they are ``STALE_S`` old (at start and every
``SWEEP_S`` while flushing). Every path applies a batch's counts under one id, from one final
set of tickets, so applying it twice changes nothing.
- events: the operation id is the event id. The event record is written after the counters,
  and the outcome handler's repair path (an event in the ticket's timeline without a record)
  re-applies them before writing the record.

A content change of a stored ticket (a new decision) is counted under the decision id; a crash
between that update and its counters is not repaired (``triage stats rebuild`` is).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DeleteMany, DeleteOne, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from triage.adapters.store.counter_cache import CounterCache
from triage.core import counters as c
from triage.core.errors import StoreError, StoreUnavailableError

__all__ = [
    "COUNTERS",
    "JOURNAL",
    "MongoCounters",
    "RebuildResult",
    "counter_documents",
]

Doc = dict[str, Any]
COUNTERS = "daily_counters"
JOURNAL = "counter_journal"
# Operations remembered per counter document: enough for a replay after a restart to find its
# own; a document sees one operation per batch or event that touches its day and department.
OPS_KEPT = 50
# A journal entry this old belongs to a writer taken for dead; a live one finishes a write in
# seconds (a flush retried through a MongoDB outage claims its batches first, and a claimed
# batch is completed through the claim, never counted apart).
STALE_S = 120
SWEEP_S = 60
_DUPLICATE_KEY = 11000
# The fields of a ticket that its counters depend on (never its text).
STATE_FIELDS = {
    f: 1
    for f in (
        "received_day",
        "received_at",
        "reassigned_at",
        "status",
        "department",
        "channel",
        "district",
        "label",
        "auto_routed",
        "first_department",
        "first_model_version",
        "decisions.model_version",
        "decisions.department",
        "decisions.district",
        "decisions.label",
        "decisions.kind",
        "decisions.decision_id",
        "decisions.at",
        "status_history.status",
        "stats_op",
    )
}
_CHUNK = 2_000
GENERATION = "generation"


@dataclass(frozen=True, slots=True)
class RebuildResult:
    tickets: int
    events: int
    deadletters: int
    documents: int
    seconds: float


def counter_documents(
    counts: c.Increments, lasts: Mapping[str, Mapping[str, datetime]]
) -> list[Doc]:
    """Counter documents as stored, from increments and last-decision times."""
    docs: dict[str, Doc] = {}
    now = datetime.now(UTC)
    for doc_id, fields in [*counts.items(), *lasts.items()]:
        doc = docs.setdefault(doc_id, {"_id": doc_id, **c.counter_meta(doc_id), "updated_at": now})
        for path, value in fields.items():
            head, _, sub = path.partition(".")
            if sub:
                doc.setdefault(head, {})[sub] = value
            else:
                doc[head] = value
    return list(docs.values())


class MongoCounters:
    """Writes, repairs and rebuilds the counters of one database."""

    def __init__(self, db: AsyncDatabase[Doc], *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.db = db
        self.counters: AsyncCollection[Doc] = db[COUNTERS]
        self.journal: AsyncCollection[Doc] = db[JOURNAL]
        self.cache = CounterCache(self.counters, generation=GENERATION)
        # Deferred batches: counted in memory, written by the next flush.
        self._pending = c.Pending()
        # A flush that failed part way: written again, under the same id, before any other.
        self._flushing: tuple[str, c.Pending] | None = None
        # Operations whose counts this process holds (pending or flushing): a duplicate of
        # one of their tickets must not make the repair count them a second time.
        self._mine: set[str] = set()
        self._flush_lock = asyncio.Lock()
        # This writer, in the entries it journals: its own unfinished inserts are its to repair.
        self.instance = uuid.uuid4().hex
        self._swept = time.monotonic()

    @property
    def deferred(self) -> int:
        """Batches whose counts are held in memory, not written yet."""
        return len(self._mine)

    async def ensure_indexes(self) -> None:
        await self.counters.create_indexes(
            [IndexModel([("day", ASCENDING)]), IndexModel([("updated_at", ASCENDING)])]
        )

    # --- writing ---------------------------------------------------------------------------

    async def begin(self, collection: str, ids: Sequence[str]) -> str | None:
        """Journal an operation about to write ``ids``; None when counting is off."""
        if not self.enabled or not ids:
            return None
        op = uuid.uuid4().hex
        entry = {
            "_id": op,
            "collection": collection,
            "ids": list(ids),
            "at": datetime.now(UTC),
            "holder": self.instance,
        }
        await self.journal.insert_one(entry)
        return op

    async def apply(
        self,
        op: str,
        counts: c.Increments,
        lasts: Mapping[str, Mapping[str, datetime]] | None = None,
    ) -> None:
        """Add ``counts`` under operation ``op``: documents that saw ``op`` stay as they are."""
        requests: list[UpdateOne] = []
        for doc_id, fields in counts.items():
            requests.append(
                UpdateOne(
                    {"_id": doc_id, "ops": {"$ne": op}},
                    {
                        "$inc": dict(fields),
                        "$push": {"ops": {"$each": [op], "$slice": -OPS_KEPT}},
                        "$setOnInsert": c.counter_meta(doc_id),
                        "$currentDate": {"updated_at": True},
                    },
                    upsert=True,
                )
            )
        for doc_id, times in (lasts or {}).items():
            requests.append(
                UpdateOne(
                    {"_id": doc_id},
                    {
                        "$max": dict(times),
                        "$setOnInsert": c.counter_meta(doc_id),
                        "$currentDate": {"updated_at": True},
                    },
                    upsert=True,
                )
            )
        if not requests:
            return
        try:
            await self.counters.bulk_write(requests, ordered=False)
        except BulkWriteError as exc:
            # A duplicate key is a document that already counted this operation.
            errors = [e for e in exc.details.get("writeErrors", []) if e["code"] != _DUPLICATE_KEY]
            if errors or exc.details.get("writeConcernErrors"):
                raise StoreError(f"counter write failed: {errors[:3]}") from exc

    async def finish(self, op: str | None) -> None:
        if op is not None:
            await self.journal.delete_one({"_id": op})

    async def count_inserted(self, op: str | None, docs: Sequence[Mapping[str, Any]]) -> None:
        """Counters for tickets just inserted under ``op``, then close the operation."""
        if op is None:
            return
        await self.apply(op, *_ticket_counts(docs))
        await self.finish(op)

    def defer(self, op: str | None, docs: Sequence[Mapping[str, Any]]) -> None:
        """Add up the counters of tickets just inserted under ``op`` for the next flush."""
        if op is None:
            return
        self._pending.add(op, *_ticket_counts(docs))
        self._mine.add(op)

    async def flush(self) -> None:
        """Write the counts of every batch deferred so far; when it returns they are stored.

        One operation for all of them: journaled when it covers more than one batch. After a
        failure the same operation is written again first, so calling again is the retry."""
        async with self._flush_lock:
            # At most two: one that failed before, then what was deferred since. Whatever is
            # deferred meanwhile waits for the next call.
            for _ in range(2):
                if self._flushing is None and self._pending:
                    op = self._pending.ops[0] if len(self._pending) == 1 else uuid.uuid4().hex
                    self._flushing, self._pending = (op, self._pending), c.Pending()
                if self._flushing is None:
                    return
                op, pending = self._flushing
                await self._write_flush(op, pending)
                self._flushing = None
                self._mine.difference_update(pending.ops)
            if time.monotonic() - self._swept > SWEEP_S:
                # A dead writer's batches are not left to the next start.
                self._swept = time.monotonic()
                await self.recover_stale(self.db["tickets"])

    async def _write_flush(self, op: str, pending: c.Pending) -> None:
        # One batch is written under its own id, as anyone taking it over writes it: no claim.
        owned = [op] if pending.ops == [op] else await self._claim(op, pending.ops)
        if len(owned) < len(pending):
            # Another writer met these tickets again and took them over: it counts them.
            pending = pending.only(owned)
        if not owned:
            return
        if owned != [op]:
            entry = {"_id": op, "covers": owned, "at": datetime.now(UTC)}
            # Already there when an attempt failed after writing it.
            with contextlib.suppress(DuplicateKeyError):
                await self.journal.insert_one(entry)
        await self.apply(op, pending.increments(), pending.lasts)
        await self._close(op, owned)

    async def _claim(self, op: str, ops: Sequence[str]) -> list[str]:
        """The batches among ``ops`` whose entries this flush holds now (in order)."""
        result = await self.journal.update_many(
            {"_id": {"$in": list(ops)}, "flush": {"$exists": False}, "stolen": {"$exists": False}},
            {"$set": {"flush": op}},
        )
        if result.modified_count == len(ops):
            return list(ops)
        # A retry (claimed before), or some taken over: only what names this flush is its own.
        docs = await self.journal.find({"_id": {"$in": list(ops)}}, {"flush": 1}).to_list()
        mine = {d["_id"] for d in docs if d.get("flush") == op}
        return [o for o in ops if o in mine]

    async def _close(self, op: str, ops: Sequence[str]) -> None:
        """Delete the entries of the batches a flush covered, then (ordered) the flush's own:
        an entry covered by no flush entry is one whose counters are not written."""
        batches = [o for o in ops if o != op]
        requests: list[DeleteMany | DeleteOne] = [DeleteOne({"_id": op})]
        if batches:
            requests.insert(0, DeleteMany({"_id": {"$in": batches}}))
        await self.journal.bulk_write(requests, ordered=True)

    async def before_update(self, tickets: AsyncCollection[Doc], ids: Sequence[str]) -> list[Doc]:
        """Tickets about to be updated as they are now; unfinished operations that wrote them
        (a crash before their counters) are completed first."""
        if not self.enabled or not ids:
            return []
        docs: list[Doc] = await tickets.find(
            {"_id": {"$in": list(ids)}}, projection=STATE_FIELDS
        ).to_list()
        await self.recover(tickets, {str(d["stats_op"]) for d in docs if d.get("stats_op")})
        return docs

    async def count_redecided(
        self, old_docs: Sequence[Doc], updates: Sequence[tuple[Doc, Doc]]
    ) -> None:
        """Counters for tickets that took a new decision (their content changed)."""
        if not self.enabled:
            return
        by_id = {d["_id"]: d for d in old_docs}
        for filter_, update in updates:
            old = by_id.get(filter_["_id"])
            decision = update["$push"]["decisions"]
            if old is None or any(
                d.get("decision_id") == decision["decision_id"] for d in old.get("decisions", [])
            ):
                continue
            new = {**old, **update["$set"], "decisions": [*old.get("decisions", []), decision]}
            await self.apply(
                f"d:{decision['decision_id']}", c.ticket_delta(old, new), c.last_decisions(new)
            )

    async def count_event(
        self,
        record: Mapping[str, Any],
        ticket: Mapping[str, Any],
        *,
        from_status: str | None,
        from_department: str | None,
        to_status: str | None,
        to_department: str | None,
    ) -> None:
        if not self.enabled:
            return
        counts = c.event_increments(
            record,
            ticket,
            from_status=from_status,
            from_department=from_department,
            to_status=to_status,
            to_department=to_department,
        )
        await self.apply(f"e:{record['event_id']}", counts)

    async def write_deadletters(
        self, collection: AsyncCollection[Doc], docs: Sequence[Doc]
    ) -> None:
        """Insert dead-letter records unless already there (keyed by position); count the new."""
        op = await self.begin("deadletters", [d["_id"] for d in docs])
        requests = [
            UpdateOne(
                {"_id": d["_id"]},
                {"$setOnInsert": {k: v for k, v in {**d, "stats_op": op}.items() if k != "_id"}},
                upsert=True,
            )
            for d in docs
        ]
        inserted: list[int] = []
        try:
            result = await collection.bulk_write(requests, ordered=False)
            inserted = sorted(result.upserted_ids or {})
        except BulkWriteError as exc:
            errors = [e for e in exc.details.get("writeErrors", []) if e["code"] != _DUPLICATE_KEY]
            if errors or exc.details.get("writeConcernErrors"):
                raise StoreError(f"bulk write failed: {errors[:3]}") from exc
            inserted = sorted(u["index"] for u in exc.details.get("upserted", []))
        if op is None:
            return
        if len(inserted) < len(docs):
            known = {docs[i]["_id"] for i in inserted}
            again = [d["_id"] for d in docs if d["_id"] not in known]
            stored = await collection.find(
                {"_id": {"$in": again}}, projection={"stats_op": 1}
            ).to_list()
            ops = {str(d["stats_op"]) for d in stored if d.get("stats_op")}
            await self.recover(self.db["tickets"], ops)
        await self.apply(op, _deadletter_counts(docs[i] for i in inserted))
        await self.finish(op)

    # --- repair ----------------------------------------------------------------------------

    async def recover(self, tickets: AsyncCollection[Doc], ops: set[str]) -> int:
        """Re-apply unfinished operations among ``ops`` (those still journaled), through the
        flush that covers them if there is one. Those this process holds are left to its flush.
        """
        wanted = sorted(ops - self._mine)
        if not wanted:
            return 0
        entries = await self.journal.find({"_id": {"$in": wanted}}).to_list()
        if not entries:
            return 0
        claims = {str(e["flush"]) for e in entries if e.get("flush") not in (None, e["_id"])}
        flushes = await self.journal.find({"_id": {"$in": sorted(claims)}}).to_list()
        # Claimed by a flush not journaled yet: its writer is between two writes.
        ready = {str(f["_id"]) for f in flushes}
        takeable = [
            e
            for e in entries
            if e.get("flush") == e["_id"]
            or e.get("stolen")
            or (e.get("flush") is None and await self._inserted(e))
        ]
        taken = await self._take(takeable)
        left = [e for e in entries if e.get("flush") in ready]
        return await self._recover_all(tickets, [*taken, *left], flushes)

    async def _inserted(self, entry: Doc) -> bool:
        """Whether the documents stamped with a batch's operation are final: its writer is
        this process (whose insert returned), or every document it names exists (by whoever
        inserted it), so that no more can be stamped with it."""
        if entry.get("holder") == self.instance:
            return True
        ids = sorted(set(entry.get("ids", [])))
        collection = self.db[
            "deadletters" if entry.get("collection") == "deadletters" else "tickets"
        ]
        found: int = await collection.count_documents({"_id": {"$in": ids}})
        return found == len(ids)

    async def _take(self, entries: Sequence[Doc], *, from_flush: bool = False) -> list[Doc]:
        """The entries this writer may now count on their own: those no flush claimed are
        marked taken first, so that a flush can no longer claim them (or, ``from_flush``, those
        whose claiming flush never journaled itself are taken from it)."""
        out: list[Doc] = []
        for entry in entries:
            claim = entry.get("flush")
            if claim == entry["_id"] or (entry.get("stolen") and claim is None):
                out.append(entry)
                continue
            condition: Doc = {"flush": claim} if from_flush else {"flush": {"$exists": False}}
            result = await self.journal.update_one(
                {"_id": entry["_id"], **condition},
                {"$set": {"stolen": True}, "$unset": {"flush": ""}},
            )
            if result.matched_count:
                out.append(entry)
        return out

    async def recover_stale(self, tickets: AsyncCollection[Doc]) -> int:
        """Re-apply operations left unfinished (a crashed writer) more than STALE_S ago."""
        if not self.enabled:
            return 0
        before = datetime.now(UTC) - timedelta(seconds=STALE_S)
        stale = await self.journal.find({"at": {"$lt": before}}).to_list()
        flushes = [e for e in stale if "covers" in e]
        batches = [e for e in stale if "covers" not in e and e["_id"] not in self._mine]
        claims = {str(e["flush"]) for e in batches if e.get("flush") not in (None, e["_id"])}
        # A recent flush covering an old batch may be a live writer's: both are left alone.
        journaled = {
            str(f["_id"])
            for f in await self.journal.find({"_id": {"$in": sorted(claims)}}).to_list()
        }
        unclaimed = [e for e in batches if e.get("flush") in (None, e["_id"])]
        orphans = [e for e in batches if e.get("flush") in claims - journaled]
        taken = [*await self._take(unclaimed), *await self._take(orphans, from_flush=True)]
        return await self._recover_all(tickets, taken, flushes)

    async def _recover_all(
        self, tickets: AsyncCollection[Doc], entries: Sequence[Doc], flushes: Sequence[Doc]
    ) -> int:
        """Flushes first, each with every batch it covers; then the batches no flush covers."""
        covered: set[str] = set()
        for flush in flushes:
            await self._recover_flush(tickets, flush)
            covered.update(str(o) for o in flush["covers"])
        alone = [e for e in entries if str(e["_id"]) not in covered]
        for entry in alone:
            await self._recover(tickets, entry)
        return len(flushes) + len(alone)

    async def _recover(self, tickets: AsyncCollection[Doc], entry: Doc) -> None:
        op = str(entry["_id"])
        await self.apply(op, *await self._entry_counts(tickets, entry))
        await self.finish(op)

    async def _recover_flush(self, tickets: AsyncCollection[Doc], flush: Doc) -> None:
        op = str(flush["_id"])
        covers = [str(o) for o in flush["covers"]]
        entries = await self.journal.find({"_id": {"$in": covers}}).to_list()
        if len(entries) == len(covers):
            # Its counters may be written in part: the documents that saw ``op`` skip it.
            total = c.Pending()
            for entry in entries:
                total.add(str(entry["_id"]), *await self._entry_counts(tickets, entry))
            await self.apply(op, total.increments(), total.lasts)
        # Else the batches' entries were being deleted, which starts only once the counters
        # are written: only the deletion remains.
        await self._close(op, covers)

    async def _entry_counts(
        self, tickets: AsyncCollection[Doc], entry: Doc
    ) -> tuple[c.Increments, c.Lasts]:
        """What the documents written under a journaled batch count (as first inserted)."""
        op = str(entry["_id"])
        ids = entry.get("ids", [])
        if entry.get("collection") == "deadletters":
            dead = (
                await self.db["deadletters"].find({"_id": {"$in": ids}, "stats_op": op}).to_list()
            )
            return _deadletter_counts(dead), {}
        docs = await tickets.find(
            {"_id": {"$in": ids}, "stats_op": op}, projection=STATE_FIELDS
        ).to_list()
        return _ticket_counts([c.insert_time_doc(d) for d in docs])

    # --- rebuild ---------------------------------------------------------------------------

    async def tally(self, day_from: date | None = None) -> tuple[c.Tally, tuple[int, int, int]]:
        """Every counter recomputed from ``tickets``, ``events`` and ``deadletters``."""
        tally = c.Tally()
        day = day_from.isoformat() if day_from else None
        ticket_filter: Doc = {"received_day": {"$gte": day}} if day else {}
        n_tickets = n_events = n_dead = 0
        async for doc in self.db["tickets"].find(ticket_filter, projection=STATE_FIELDS):
            tally.ticket(doc)
            n_tickets += 1
        event_filter: Doc = {}
        if day_from:
            midnight = datetime.combine(day_from, datetime.min.time(), c.LOCAL_TZ)
            event_filter = {"at": {"$gte": midnight.astimezone(UTC)}}
        fields = {"type": 1, "department": 1, "at": 1, "reason": 1, "ticket_id": 1}
        chunk: list[Doc] = []
        async for record in self.db["events"].find(event_filter, projection=fields):
            chunk.append(record)
            n_events += 1
            if len(chunk) >= _CHUNK:
                await self._tally_events(tally, chunk)
                chunk = []
        await self._tally_events(tally, chunk)
        dead_filter: Doc = {"day": {"$gte": day}} if day else {}
        async for dead in self.db["deadletters"].find(
            dead_filter, projection={"day": 1, "reason_kind": 1}
        ):
            if dead.get("day"):
                tally.deadletter(dead["day"], dead.get("reason_kind"))
                n_dead += 1
        return tally, (n_tickets, n_events, n_dead)

    async def _tally_events(self, tally: c.Tally, records: list[Doc]) -> None:
        ids = sorted({r["ticket_id"] for r in records if r.get("type") in ("accept", "resolve")})
        received: dict[str, datetime] = {}
        if ids:
            rows = self.db["tickets"].find({"_id": {"$in": ids}}, projection={"received_at": 1})
            received = {r["_id"]: r["received_at"] async for r in rows if r.get("received_at")}
        for record in records:
            tally.event(record, received.get(record.get("ticket_id", "")))

    async def rebuild(self, day_from: date | None = None) -> RebuildResult:
        """Replace the counters of ``day_from`` onwards (all when None) by a recount."""
        start = time.perf_counter()
        try:
            tally, (n_tickets, n_events, n_dead) = await self.tally(day_from)
            docs = counter_documents(tally.result(), tally.lasts)
            await self.counters.delete_many(
                {"day": {"$gte": day_from.isoformat()}} if day_from else {}
            )
            for i in range(0, len(docs), _CHUNK):
                await self.counters.insert_many(docs[i : i + _CHUNK], ordered=False)
            # Readers holding a copy of the counters reload it whole.
            await self.counters.replace_one(
                {"_id": GENERATION},
                {"kind": "meta", "value": uuid.uuid4().hex, "updated_at": datetime.now(UTC)},
                upsert=True,
            )
            await self.journal.delete_many({})
        except PyMongoError as exc:
            raise StoreUnavailableError(f"MongoDB error: {type(exc).__name__}") from exc
        return RebuildResult(
            n_tickets, n_events, n_dead, len(docs), round(time.perf_counter() - start, 3)
        )

    async def stored(self) -> c.Increments:
        """The counters as stored, as increments (to compare with a tally)."""
        return c.counts_of(await self.counters.find({}, projection={"ops": 0}).to_list())


def _ticket_counts(docs: Sequence[Mapping[str, Any]]) -> tuple[c.Increments, c.Lasts]:
    counts = c.merge(c.state_increments(d) for d in docs)
    lasts: c.Lasts = {}
    for doc in docs:
        c.latest(lasts, c.last_decisions(doc))
    return counts, lasts


def _deadletter_counts(docs: Any) -> c.Increments:
    return c.merge(
        c.deadletter_increments(d["day"], d.get("reason_kind") or "unknown")
        for d in docs
        if d.get("day")
    )
