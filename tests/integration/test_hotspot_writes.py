"""The hot-spot documents' writes on SecantusDB: a seed's insert makes the document its upsert
would have made, and a batch written twice (a replay) changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.servers import MongoServer
from triage.adapters.store import MongoHotspotStore
from triage.adapters.store.hotspots import HotspotWrite, Joined, join_update, seed_insert
from triage.core.hotspots import hotspot_id_for

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # the next day in Beijing
DERIVED = {"title": "丽发新城 停车", "places": ["丽发新城"], "heat": 2.5, "titles": ["停车难"]}


def _join(ticket: str, seed: str, minutes: int, *, seeded: bool = False) -> Joined:
    return Joined(
        hotspot_id=hotspot_id_for(seed),
        ticket_id=ticket,
        at=AT + timedelta(minutes=minutes),
        department="city-housing",
        new_caller=minutes % 2 == 0,
        likes=minutes,
        seeded=seeded,
    )


async def _docs(client: AsyncMongoClient[dict[str, Any]], db: str) -> list[dict[str, Any]]:
    return await client[db]["hotspots"].find({}).sort("_id", 1).to_list()


async def test_a_seed_insert_equals_its_upsert(mongo_server: MongoServer) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_server.uri, tz_aware=True)
    try:
        for derived in (None, DERIVED):
            seed = _join("t-1", "t-1", 0, seeded=True)
            inserted, upserted = (f"w{uuid.uuid4().hex[:8]}" for _ in range(2))
            await client[inserted]["hotspots"].bulk_write([seed_insert(seed, derived)])
            await client[upserted]["hotspots"].bulk_write([join_update(seed, derived)])
            assert await _docs(client, inserted) == await _docs(client, upserted)
    finally:
        await client.close()


async def test_a_batch_of_seeds_and_joins_written_twice_is_written_once(
    mongo_server: MongoServer,
) -> None:
    db = f"w{uuid.uuid4().hex[:8]}"
    store = MongoHotspotStore(mongo_server.uri, db)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_server.uri, tz_aware=True)
    joins = (
        _join("a-1", "a-1", 0, seeded=True),
        _join("b-1", "b-1", 1, seeded=True),
        _join("a-2", "a-1", 2),
        _join("a-3", "a-1", 3),
    )
    write = HotspotWrite(tuple((j.ticket_id, j.hotspot_id) for j in joins), joins)
    try:
        await store.ensure_indexes()
        await client[db]["tickets"].insert_many([{"_id": j.ticket_id} for j in joins])
        await store.save(write)
        once = await _docs(client, db)
        await store.save(write)
        assert await _docs(client, db) == once
        by_id = {d["_id"]: d for d in once}
        spot = by_id[hotspot_id_for("a-1")]
        assert spot["members"] == ["a-1", "a-2", "a-3"] and spot["tickets"] == 3
        assert spot["likes"] == 5 and spot["callers"] == 2
        assert (spot["first_day"], spot["last_day"]) == ("2026-11-21", "2026-11-21")
        assert by_id[hotspot_id_for("b-1")]["members"] == ["b-1"]
        pointing = await client[db]["tickets"].find({}).to_list()
        assert {t["_id"]: t["hotspot_id"] for t in pointing} == dict(write.assignments)
    finally:
        await store.close()
        await client.close()
