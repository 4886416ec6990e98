"""Outcome events arriving on `hotline.events` go through the same handler as HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.api import (
    Api,
    SpecChecker,
    api_settings,
    make_catalog,
    publish,
    start_api,
)
from tests.servers import KafkaServer, MongoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
async def live(
    kafka_server: KafkaServer,
    mongo_server: MongoServer,
    tmp_path: Path,
    spec_checker: SpecChecker,
) -> AsyncIterator[Api]:
    settings = api_settings(kafka_server, mongo_server, tmp_path / "models")
    async for one in start_api(
        settings, make_catalog(tmp_path / "models"), spec_checker, events=True
    ):
        yield one


async def test_events_topic_applies_and_dead_letters(live: Api) -> None:
    """Valid events change tickets; bad and refused ones become dead letters with a reason."""
    docs = await live.seed(200)
    routed = next(d for d in docs if d["status"] == "routed")
    review = next(d for d in docs if d["status"] == "review")
    dept = routed["department"]

    def event(ticket: str, **fields: str) -> tuple[bytes, bytes]:
        return ticket.encode(), json.dumps({"ticket_id": ticket, **fields}).encode()

    await publish(
        live.settings.kafka_bootstrap,
        live.settings.topics.events,
        [
            event(routed["_id"], event_id="k1", type="accept", department=dept),
            event(routed["_id"], event_id="k1", type="accept", department=dept),
            event(routed["_id"], event_id="k2", type="resolve", department=dept),
            event(review["_id"], event_id="k3", type="reassign", department="city-water"),
            event(review["_id"], event_id="k4", type="resolve", department="city-water"),
            event("no-such-ticket", event_id="k5", type="accept", department=dept),
            (b"x", b"{not json"),
        ],
    )
    store = live.store
    for _ in range(150):
        if await store.deadletters.count_documents({}) >= 3:
            break
        await asyncio.sleep(0.2)
    reasons = sorted(d["reason"] for d in await store.deadletters.find({}).to_list())
    assert len(reasons) == 3, reasons
    assert any("invalid event" in r for r in reasons)
    assert any("no ticket" in r for r in reasons)
    assert any("cannot resolve" in r for r in reasons)
    done = await live.client.call("GET", f"/v1/tickets/{routed['_id']}", "agent")
    assert [s["status"] for s in done.body["timeline"]] == ["routed", "accepted", "resolved"]
    moved = await live.client.call("GET", f"/v1/tickets/{review['_id']}", "agent")
    assert (moved.body["status"], moved.body["department"]) == ("reassigned", "city-water")
    assert len(moved.body["assignments"]) == 1
    # The same event over HTTP is recognised as already applied.
    again = await live.client.call(
        "POST",
        f"/v1/tickets/{review['_id']}/events",
        "agent",
        json_body={"event_id": "k3", "type": "reassign", "department": "city-water"},
    )
    assert (again.status, again.body["duplicate"]) == (200, True)
