"""MongoDB `hotspots`: one document per hot spot, and each ticket's `hotspot_id`.

Only the hot-spot stage writes here, and every write is per ticket and idempotent, so a
replay, a retry, or an owner that has not noticed it lost its partition yet can never undo
another writer's work. A batch is written in two steps: each ticket's `hotspot_id`; then per
ticket one update of its hot spot that lists it (`$addToSet`) and counts it (`$inc` of
tickets, callers, its day and department; `$min`/`$max` of its span), applied only when the
hot spot does not list it yet (an upsert that finds it listed fails with a duplicate key, which
means "already done"). A ticket that seeds its hot spot inserts the document that update would
have made: the hot spot is named after it (``hotspot_id_for``), so a document of that name
lists it from its first write, and a duplicate key again means "already done"; an insert costs
the database a third of an upsert, and most tickets seed their own hot spot. Inserts go
before the updates of the batch (an unordered bulk write runs each kind together), which
keeps a hot spot's seed ahead of the tickets that join it. The last update of each hot spot in
the batch also `$set`s the figures
derived from the owner's state (title, places, heat, peak and recent weeks, recent titles). A hot
spot of one ticket has its document too, so that every id a ticket or a suggestion names
resolves; the list shows only those of two or more.

Callers are counted in memory by a hash and never stored: a hash of a phone number is a phone
number to anyone who can enumerate them, so after a rebuild a caller who already wrote about a
hot spot counts once more. If the owner stops between the steps, the rebuild at the next
assignment finds tickets whose hot spot does not list them yet and counts them in memory
(``Detector.restore``), and the replayed batch writes their updates.

Queries use only `find` with `$gte`/`$lte`/equality on stored fields and `sort` on an indexed
one; the local days of a hot spot's first and last ticket are stored for the date filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import AsyncMongoClient, IndexModel, InsertOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from triage.adapters.store.mongo import translate_error
from triage.adapters.store.records import LOCAL_TZ, Doc
from triage.core.errors import StoreError
from triage.core.hotspots import HotspotSummary, Sighting, Spot

HOTSPOT_INDEXES = (("heat", -1), ("last_day", -1))
DUPLICATE_KEY = 11000


@dataclass(frozen=True, slots=True)
class Joined:
    """One ticket counted into its hot spot: what its own update adds."""

    hotspot_id: str
    ticket_id: str
    at: datetime
    department: str
    new_caller: bool
    likes: int = 0
    # the ticket seeded this hot spot (is its first member): its document is inserted
    seeded: bool = False


@dataclass(frozen=True, slots=True)
class HotspotWrite:
    """What one batch's detection changed: ticket -> hot spot, each ticket's update of its
    hot spot, and the touched hot spots' derived figures (with recent member titles)."""

    assignments: tuple[tuple[str, str], ...]
    joins: tuple[Joined, ...] = ()
    spots: tuple[tuple[HotspotSummary, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class HotspotQuery:
    """`GET /v1/hotspots`: local days (both included), a department, how many."""

    first_day: str | None = None
    last_day: str | None = None
    department: str | None = None
    limit: int = 20


class HotspotStore(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def save(self, write: HotspotWrite) -> None: ...
    async def latest(self) -> datetime | None: ...
    async def live(self, since: datetime) -> list[Spot]: ...
    async def window(self, since: datetime) -> list[tuple[Sighting, str]]: ...
    async def ranked(self, query: HotspotQuery) -> list[Doc]: ...
    async def get(self, hotspot_id: str) -> Doc | None: ...
    async def tickets(self, ticket_ids: Sequence[str], *, body: bool = False) -> dict[str, Doc]: ...
    async def assigned(self, ticket_ids: Sequence[str]) -> dict[str, str]: ...
    async def close(self) -> None: ...


def _local_day(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).date().isoformat()


def join_update(join: Joined, derived: Doc | None = None) -> UpdateOne:
    """The idempotent update that lists and counts one ticket in its hot spot (and sets the
    ``derived`` figures, if given)."""
    update: Doc = {
        "$addToSet": {"members": join.ticket_id, "departments": join.department},
        "$inc": {
            "tickets": 1,
            "callers": 1 if join.new_caller else 0,
            "likes": join.likes,
            f"days.{join.at.date().isoformat()}": 1,
            f"department_counts.{join.department}": 1,
        },
        "$min": {"first_at": join.at, "first_day": _local_day(join.at)},
        "$max": {"last_at": join.at, "last_day": _local_day(join.at)},
    }
    if derived:
        update["$set"] = derived
    return UpdateOne(
        {"_id": join.hotspot_id, "members": {"$ne": join.ticket_id}}, update, upsert=True
    )


def seed_insert(join: Joined, derived: Doc | None = None) -> InsertOne[Doc]:
    """The document ``join_update`` would create for the ticket that seeds its hot spot."""
    doc: Doc = {
        "_id": join.hotspot_id,
        "members": [join.ticket_id],
        "departments": [join.department],
        "tickets": 1,
        "callers": 1 if join.new_caller else 0,
        "likes": join.likes,
        "days": {join.at.date().isoformat(): 1},
        "department_counts": {join.department: 1},
        "first_at": join.at,
        "first_day": _local_day(join.at),
        "last_at": join.at,
        "last_day": _local_day(join.at),
    }
    if derived:
        doc.update(derived)
    return InsertOne(doc)


def derived_fields(summary: HotspotSummary, titles: Sequence[str]) -> Doc:
    """What the owner computes from the whole hot spot, `$set` after its tickets' updates."""
    return {
        "title": summary.title,
        "places": list(summary.places),
        "peak_7d": summary.peak_7d,
        "recent_7d": summary.recent_7d,
        "heat": summary.heat,
        "titles": list(titles),
    }


def spot_from_document(doc: Doc) -> Spot:
    """The detector's state of a stored hot spot."""
    summary = HotspotSummary(
        hotspot_id=doc["_id"],
        title=doc.get("title", ""),
        places=tuple(doc.get("places", ())),
        first_at=doc["first_at"],
        last_at=doc["last_at"],
        tickets=int(doc.get("tickets", 0)),
        callers=int(doc.get("callers", 0)),
        likes=int(doc.get("likes", 0)),
        peak_7d=int(doc.get("peak_7d", 0)),
        recent_7d=int(doc.get("recent_7d", 0)),
        heat=float(doc.get("heat", 0.0)),
        departments=dict(doc.get("department_counts", {})),
        days=dict(doc.get("days", {})),
        members=tuple(doc.get("members", ())),
    )
    return Spot.restore(summary, (), doc.get("titles", ()))


_SUMMARY_FIELDS = {"titles": 0}


class MongoHotspotStore:
    """The `hotspots` collection, and the `hotspot_id` of documents in `tickets`."""

    def __init__(self, uri: str, db: str, *, timeout_ms: int = 5_000) -> None:
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, connect=False
        )
        self.hotspots = self._client[db]["hotspots"]
        self.ticket_docs = self._client[db]["tickets"]

    async def ensure_indexes(self) -> None:
        try:
            await self.hotspots.create_indexes([IndexModel([key]) for key in HOTSPOT_INDEXES])
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def save(self, write: HotspotWrite) -> None:
        """The tickets' `hotspot_id`, each ticket's update of its hot spot, then the figures."""
        by_spot: dict[str, list[str]] = {}
        for ticket_id, hotspot_id in write.assignments:
            by_spot.setdefault(hotspot_id, []).append(ticket_id)
        if by_spot:
            await self._bulk(
                self.ticket_docs,
                [
                    UpdateOne({"_id": ids[0]}, {"$set": {"hotspot_id": hotspot_id}})
                    if len(ids) == 1
                    else UpdateMany({"_id": {"$in": ids}}, {"$set": {"hotspot_id": hotspot_id}})
                    for hotspot_id, ids in by_spot.items()
                ],
            )
        if write.joins:
            derived = {s.hotspot_id: derived_fields(s, titles) for s, titles in write.spots}
            last = {j.hotspot_id: i for i, j in enumerate(write.joins)}
            ops = [
                (seed_insert if j.seeded else join_update)(
                    j, derived.get(j.hotspot_id) if last[j.hotspot_id] == i else None
                )
                for i, j in enumerate(write.joins)
            ]
            await self._bulk(self.hotspots, ops)

    async def _bulk(
        self, collection: Any, ops: Sequence[InsertOne[Doc] | UpdateOne | UpdateMany]
    ) -> None:
        try:
            await collection.bulk_write(list(ops), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            # A duplicate key is an upsert that found its ticket listed already, or a seed's
            # document inserted already: done before.
            others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
            if others:
                raise StoreError(f"hot-spot write failed: {others[:3]}") from exc
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def latest(self) -> datetime | None:
        """When the most recent ticket of any hot spot arrived (the detector's clock)."""
        try:
            doc = await self.hotspots.find_one(
                {}, {"last_at": 1}, sort=[("last_day", -1), ("last_at", -1)]
            )
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return None if doc is None else doc["last_at"]

    async def live(self, since: datetime) -> list[Spot]:
        """Hot spots with a ticket since `since`: the ones the detector goes on counting."""
        try:
            cursor = self.hotspots.find({"last_day": {"$gte": _local_day(since)}})
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return [spot_from_document(d) for d in docs if d["last_at"] >= since]

    async def window(self, since: datetime) -> list[tuple[Sighting, str]]:
        """Tickets since `since` that have a hot spot, oldest first, with it."""
        try:
            cursor = self.ticket_docs.find(
                {"received_day": {"$gte": _local_day(since)}, "hotspot_id": {"$exists": True}},
                {"received_at": 1, "title": 1, "body": 1, "hotspot_id": 1, "department": 1},
            )
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        rows = [
            (
                Sighting(
                    d["_id"],
                    d["received_at"],
                    d.get("title") or "",
                    d.get("body") or "",
                    department=d.get("department") or "review",
                ),
                d["hotspot_id"],
            )
            for d in docs
            if d["received_at"] >= since
        ]
        rows.sort(key=lambda row: row[0].order)
        return rows

    async def ranked(self, query: HotspotQuery) -> list[Doc]:
        filter_: Doc = {"tickets": {"$gte": 2}}
        if query.first_day is not None:
            filter_["last_day"] = {"$gte": query.first_day}
        if query.last_day is not None:
            filter_["first_day"] = {"$lte": query.last_day}
        if query.department is not None:
            filter_["departments"] = query.department
        try:
            cursor = (
                self.hotspots.find(filter_, {**_SUMMARY_FIELDS, "members": 0, "days": 0})
                .sort([("heat", -1), ("_id", 1)])
                .limit(query.limit)
            )
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return docs

    async def get(self, hotspot_id: str) -> Doc | None:
        try:
            doc: Doc | None = await self.hotspots.find_one({"_id": hotspot_id}, _SUMMARY_FIELDS)
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return doc

    async def tickets(self, ticket_ids: Sequence[str], *, body: bool = False) -> dict[str, Doc]:
        """Where these tickets went and how they ended, by id (by primary key: no scan);
        with ``body``, their text too."""
        fields = {"department": 1, "status": 1, "received_at": 1, "title": 1, "body": int(body)}
        if not body:
            del fields["body"]
        if not ticket_ids:
            return {}
        try:
            cursor = self.ticket_docs.find(
                {"_id": {"$in": list(ticket_ids)}},
                fields,
            )
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return {d["_id"]: d for d in docs}

    async def assigned(self, ticket_ids: Sequence[str]) -> dict[str, str]:
        """The stored hot spot of each of these tickets that has one (by primary key)."""
        if not ticket_ids:
            return {}
        try:
            cursor = self.ticket_docs.find(
                {"_id": {"$in": list(ticket_ids)}, "hotspot_id": {"$exists": True}},
                {"hotspot_id": 1},
            )
            docs: list[Doc] = await cursor.to_list()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return {d["_id"]: d["hotspot_id"] for d in docs}

    async def close(self) -> None:
        await self._client.close()
