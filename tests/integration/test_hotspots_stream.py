"""Hot spots in the running service: detected per batch, stored in MongoDB `hotspots`, and
neither a replay nor a restart counts a ticket twice."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.integration.service import Scenario
from tests.tickets import ticket_lines
from tests.unit.test_hotspots import BACKGROUND, LIFA

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXTRA = (
    "丽发新城小区附近搅拌站噪音大粉尘大",
    "丽发新城小区旁边的搅拌站晚上一直施工，求撤走搅拌站。",
)


def lines(rows: list[tuple[str, str]], prefix: str, start_minute: int) -> list[bytes]:
    out = []
    for i, (title, body) in enumerate(rows):
        minute = start_minute + i
        ticket = {
            "ticket_id": f"{prefix}-{i}",
            "received_at": f"2026-11-20T{8 + minute // 60:02d}:{minute % 60:02d}:00+08:00",
            "channel": "web",
            "title": title,
            "body": body,
            "caller": {"phone": f"1380000{hash(prefix) % 1000:03d}{i}"},
        }
        out.append(json.dumps(ticket, ensure_ascii=False).encode())
    return out


async def wait_for(
    scenario: Scenario, check: Any, what: str, within: float = 120
) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(scenario.mongo.uri)
    try:
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            last = await check(scenario.db(client))
            if last is not None and last is not False:
                return last  # type: ignore[no-any-return]
            await asyncio.sleep(0.5)
        raise AssertionError(f"{what}: not within {within} s")
    finally:
        await client.close()


def assigned(n: int) -> Any:
    async def check(db: Any) -> bool:
        return await db.tickets.count_documents({"hotspot_id": {"$exists": True}}) == n

    return check


def lifa_spot(tickets: int) -> Any:
    async def check(db: Any) -> dict[str, Any] | None:
        doc = await db.tickets.find_one({"_id": "lf-0"})
        if doc is None or "hotspot_id" not in doc:
            return None
        spot: dict[str, Any] | None = await db.hotspots.find_one({"_id": doc["hotspot_id"]})
        return spot if spot is not None and spot["tickets"] >= tickets else None

    return check


async def test_replay_and_restart_never_count_twice(scenario: Scenario, tmp_path: Path) -> None:
    """Four paraphrases form one stored hot spot; after SIGKILL and a restart, two of them
    published again and one new paraphrase make it five: the window was rebuilt from MongoDB
    (without it the replayed two would seed a hot spot of their own)."""
    proc = scenario.start_service(tmp_path)
    first = lines(BACKGROUND, "bg", 0) + lines(LIFA, "lf", 30)
    await scenario.publish(first)
    await scenario.wait_stored(len(first), 0, within=120)
    await wait_for(scenario, assigned(len(first)), "every ticket has its hot spot")
    spot = await wait_for(scenario, lifa_spot(4), "the four paraphrases as one hot spot")
    assert sorted(spot["members"]) == [f"lf-{i}" for i in range(4)]
    assert spot["callers"] == 4 and spot["departments"]
    assert set(spot) & {"caller", "caller_keys"} == set()  # counted in memory, never stored

    proc.send_signal(signal.SIGKILL)
    proc.wait()
    scenario.start_service(tmp_path)
    await scenario.publish(first[-2:] + lines([EXTRA], "lf-new", 60))
    await scenario.wait_stored(len(first) + 1, 0, within=120)
    await wait_for(scenario, assigned(len(first) + 1), "the new ticket has its hot spot")
    spot = await wait_for(scenario, lifa_spot(5), "the new paraphrase joined")
    assert spot["tickets"] == 5 and spot["callers"] == 5
    assert sorted(spot["members"]) == sorted([f"lf-{i}" for i in range(4)] + ["lf-new-0"])

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(scenario.mongo.uri)
    try:
        db = scenario.db(client)
        assert await db.hotspots.count_documents({"tickets": {"$gte": 2}}) == 1
        other = await db.tickets.find_one({"_id": "bg-0"})
        assert other["hotspot_id"] != spot["_id"]
    finally:
        await client.close()


def _events(log: Path) -> list[dict[str, Any]]:
    rows = log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in rows if line.startswith("{")]


async def test_hot_spots_wait_while_routing_works_through_a_backlog(
    scenario: Scenario, tmp_path: Path
) -> None:
    """Routing and the hot-spot stage share the database: with 8,000 tickets waiting, the stage
    holds back until routing has them all, then detects every one."""
    n = 8_000
    await scenario.publish(ticket_lines(n))
    scenario.start_service(tmp_path)
    await scenario.wait_stored(n, 0, within=240)
    await wait_for(scenario, assigned(n), "every ticket has its hot spot", within=240)
    events = _events(tmp_path / "serve-0.log")
    kinds = [e.get("event") for e in events]
    assert "hot spots wait for routing" in kinds and "routing caught up" in kinds
    routed = next(
        e["timestamp"]
        for e in events
        if e.get("event") == "batch committed" and e.get("consumed", 0) >= n
    )
    detected = [
        e["detected"]
        for e in events
        if e.get("event") == "hot-spot batch committed" and e["timestamp"] <= routed
    ]
    # while routing worked, the stage did at most what it had started before the backlog showed
    assert max(detected, default=0) < n // 2, (max(detected, default=0), n)
