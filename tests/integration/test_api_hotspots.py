"""`/v1/hotspots`, `/v1/hotspots/{id}` and the `similar` part of `/v1/suggest`, on SecantusDB."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from streams.batch import Message, plan_batch
from streams.sightings import decode_decided
from tests.fakes import analyzer as fake_analyzer
from tests.integration.api import Api, SpecChecker, api_settings, make_catalog, start_api
from tests.servers import KafkaServer, MongoServer
from tests.unit.test_hotspots import BACKGROUND, LIFA
from triage.adapters.hotspot_tracker import HotspotTracker
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MongoHotspotStore, MongoTicketStore
from triage.service.api.similar import SIMILAR_MIN

pytestmark = pytest.mark.integration


def _message(i: int, tid: str, title: str, body: str, day: int) -> Message:
    ticket = {
        "ticket_id": tid,
        "received_at": f"2026-11-{day:02d}T{8 + i % 10:02d}:{i % 60:02d}:00+08:00",
        "channel": "web",
        "title": title,
        "body": body,
        "caller": {"phone": f"1390000{i:04d}"},
    }
    return Message("t", 0, i, None, json.dumps(ticket, ensure_ascii=False).encode())


@pytest.fixture
async def hot_api(
    kafka_server: KafkaServer, mongo_server: MongoServer, tmp_path: Path, spec_checker: SpecChecker
) -> AsyncIterator[Api]:
    """The API started on a database where the consumer's code already found one hot spot."""
    settings = api_settings(kafka_server, mongo_server, tmp_path / "models")
    messages = [_message(i, f"bg-{i}", t, b, 10) for i, (t, b) in enumerate(BACKGROUND)]
    messages += [_message(40 + i, f"lf-{i}", t, b, 12) for i, (t, b) in enumerate(LIFA)]
    tickets = MongoTicketStore(settings.mongodb_uri, settings.db)
    hotspots = MongoHotspotStore(settings.mongodb_uri, settings.db)
    tracker = HotspotTracker(hotspots)
    try:
        plan = await plan_batch(
            messages,
            analyzer=fake_analyzer("v1"),
            registry=load_registry(),
            settings=settings,
        )
        await tickets.ensure_indexes()
        await hotspots.ensure_indexes()
        await tickets.upsert_batch(plan.records)
        # what the hot-spot stage does with the routing stage's records
        decided = [decode_decided(out.value) for out in plan.decided]
        write = tracker.observe([t.sighting() for t in decided if not isinstance(t, str)])
        await hotspots.save(write)
    finally:
        await tickets.close()
        await hotspots.close()
    async for one in start_api(settings, make_catalog(tmp_path / "models"), spec_checker):
        yield one


async def test_list_and_detail(hot_api: Api) -> None:
    """The one hot spot is listed with its counts, and its page lists its four members."""
    reply = await hot_api.client.call("GET", "/v1/hotspots?from=2026-11-01&limit=5", "supervisor")
    assert reply.status == 200
    [spot] = reply.body["hotspots"]
    assert spot["tickets"] == 4 and spot["callers"] == 4 and "丽发" in spot["places"]
    assert spot["first_at"].startswith("2026-11-12")
    detail = await hot_api.client.call("GET", f"/v1/hotspots/{spot['hotspot_id']}", "agent")
    assert detail.status == 200
    assert sorted(m["ticket_id"] for m in detail.body["members"]) == [f"lf-{i}" for i in range(4)]
    assert all(m["status"] in ("routed", "review") for m in detail.body["members"])
    assert sum(detail.body["statuses"].values()) == 4


async def test_filters(hot_api: Api) -> None:
    """A range after the hot spot, or a department it never reached, lists nothing."""
    later = await hot_api.client.call("GET", "/v1/hotspots?from=2026-11-13", "trainer")
    assert later.status == 200 and later.body["hotspots"] == []
    before = await hot_api.client.call("GET", "/v1/hotspots?to=2026-11-11", "trainer")
    assert before.body["hotspots"] == []
    other = await hot_api.client.call("GET", "/v1/hotspots?department=city-transport", "supervisor")
    assert other.status == 200 and other.body["hotspots"] == []


async def test_suggest_names_similar_tickets_and_the_hotspot(hot_api: Api) -> None:
    """A paraphrase asked about gets the earlier tickets, where they went, and the hot spot."""
    listed = await hot_api.client.call("GET", "/v1/hotspots", "supervisor")
    hotspot_id = listed.body["hotspots"][0]["hotspot_id"]
    reply = await hot_api.client.call(
        "POST",
        "/v1/suggest",
        "agent",
        json_body={
            "title": "丽发新城旁边搅拌站太吵",
            "body": "丽发新城小区附近的搅拌站晚上噪音很大",
        },
    )
    assert reply.status == 200
    similar = reply.body["similar"]
    assert similar and all(s["ticket_id"].startswith("lf-") for s in similar[:3])
    assert similar[0]["status"] in ("routed", "review")
    assert reply.body["hotspot"]["hotspot_id"] == hotspot_id
    labels = {"routed": "已派单", "review": "待审核"}
    names = {d.code: d.name for d in load_registry().departments}
    for entry in similar:
        assert entry["similarity"] >= SIMILAR_MIN and "丽发" in entry["title"]
        assert entry["status_label"] == labels[entry["status"]]
        assert entry["department_name"] == names.get(entry["department"])
        path = f"/v1/hotspots/{entry['hotspot_id']}"
        assert (await hot_api.client.call("GET", path, "agent")).status == 200
    unrelated = await hot_api.client.call(
        "POST", "/v1/suggest", "agent", json_body={"body": "社保卡补办需要多久"}
    )
    assert unrelated.body["hotspot"] is None or unrelated.body["hotspot"]["tickets"] < 2


async def test_a_department_reads_only_the_hot_spots_that_reached_it(hot_api: Api) -> None:
    """A department token lists and opens the hot spots routed to it, and no others."""
    [spot] = (await hot_api.client.call("GET", "/v1/hotspots", "supervisor")).body["hotspots"]
    assert "city-environment" in spot["departments"]
    path = f"/v1/hotspots/{spot['hotspot_id']}"
    own = await hot_api.client.call("GET", "/v1/hotspots", "environment")
    assert own.status == 200 and own.body["department"] == "city-environment"
    assert [s["hotspot_id"] for s in own.body["hotspots"]] == [spot["hotspot_id"]]
    assert (await hot_api.client.call("GET", path, "environment")).status == 200
    other = await hot_api.client.call("GET", "/v1/hotspots", "housing")
    assert other.status == 200 and other.body["hotspots"] == []
    assert (await hot_api.client.call("GET", path, "housing")).status == 403
    asks = await hot_api.client.call("GET", "/v1/hotspots?department=city-environment", "housing")
    assert asks.status == 403


async def test_refusals(hot_api: Api) -> None:
    """Bad parameters get 422, unknown ids 404, no token 401."""
    assert (await hot_api.client.call("GET", "/v1/hotspots")).status == 401
    for query, field in [
        ("from=2026-13-01", "from"),
        ("from=2026-11-20&to=2026-11-01", "from"),
        ("limit=0", "limit"),
        ("department=nowhere", "department"),
        ("colour=red", "colour"),
    ]:
        reply = await hot_api.client.call("GET", f"/v1/hotspots?{query}", "supervisor")
        assert reply.status == 422 and reply.body["error"]["field"] == field, query
    missing = await hot_api.client.call("GET", "/v1/hotspots/hs-0000000000000000", "supervisor")
    assert missing.status == 404
    odd = await hot_api.client.call("GET", "/v1/hotspots/not-an-id", "supervisor")
    assert odd.status == 404
