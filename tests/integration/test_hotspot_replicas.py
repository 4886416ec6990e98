"""Hot spots with two replicas of `triage serve`: the shared hot-spot messages replayed as
tickets as fast as they go, with replicas joining, stopping and dying, give the hot spots of
`triage hotspots` over the same tickets, documents that list exactly their tickets, the same
`similar` on every replica, and statistics that count every ticket once."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from pymongo import AsyncMongoClient

from tests.integration.processes import ROOT
from tests.integration.service import TRIAGE, Scenario
from triage.adapters import stack
from triage.core.hotspots import Detector, DetectorConfig
from triage.service.hotspots_cli import read_sightings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = ROOT.parent / "shared" / "data" / "hotspots" / "messages.jsonl"
TOKEN = "replica-test-token-0123456789"  # noqa: S105 - a test token
# The messages' span in ranges the statistics accept (at most 366 days each).
RANGES = (
    "from=2017-01-01&to=2017-12-31",
    "from=2018-01-01&to=2018-12-31",
    "from=2019-01-01&to=2019-12-31",
    "from=2020-01-01&to=2020-12-31",
)


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], dict[str, str]]:
    """The messages as tickets in `received_at` order, and `triage hotspots` over them."""
    if not MESSAGES.is_file():
        pytest.skip(f"{MESSAGES} is absent")
    rows = [json.loads(line) for line in MESSAGES.read_text("utf-8").splitlines() if line]
    rows.sort(key=lambda r: r["received_at"])
    lines = [
        json.dumps(
            {
                "ticket_id": r["message_id"],
                "received_at": r["received_at"],
                "channel": "web",
                "title": r["title"],
                "body": r["body"],
                "caller": {"name": r["user"]},
            },
            ensure_ascii=False,
        ).encode()
        for r in rows
    ]
    path = tmp_path_factory.mktemp("replay") / "tickets.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    sightings, problems = read_sightings(path)
    assert problems == []
    sightings.sort(key=lambda s: s.order)
    detector = Detector(DetectorConfig())
    return lines, {a.ticket_id: a.hotspot_id for a in detector.replay_all(sightings)}


class Replica:
    """One `triage serve` with its HTTP port."""

    def __init__(self, scenario: Scenario, log_dir: Path, *, stages: str | None = None) -> None:
        tokens = log_dir / "tokens.toml"
        tokens.write_text(
            f'[[tokens]]\ntoken = "{TOKEN}"\nrole = "supervisor"\n'
            f'[[tokens]]\ntoken = "{TOKEN}-agent"\nrole = "agent"\n'
        )
        self.port = stack.free_port()
        env = {
            **scenario.env,
            "TRIAGE_HTTP_PORT": str(self.port),
            "TRIAGE_TOKENS_FILE": str(tokens),
            "TRIAGE_BATCH_SIZE": "512",
        }
        argv = [TRIAGE, "serve", "--analyzer", "tests.fakes:cleaning_analyzer"]
        if stages is not None:
            argv += ["--stages", stages]
        self.proc: subprocess.Popen[bytes] = scenario.services.start(argv, env, log_dir)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            ClientSession() as session,
            session.request(
                method, f"http://127.0.0.1:{self.port}{path}", json=body, headers=headers
            ) as reply,
        ):
            return reply.status, await reply.json()

    async def ready(self, within: float = 120) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the replica exited"
            try:
                status, _ = await self.call("GET", "/readyz")
            except OSError:
                status = 0
            if status == 200:
                return
            await asyncio.sleep(0.5)
        raise AssertionError("replica not ready")


async def _db_state(scenario: Scenario) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(scenario.mongo.uri)
    try:
        db = scenario.db(client)
        tickets = {
            d["_id"]: d.get("hotspot_id") async for d in db.tickets.find({}, {"hotspot_id": 1})
        }
        spots = await db.hotspots.find({}, {"members": 1, "tickets": 1}).to_list()
        return tickets, spots
    finally:
        await client.close()


async def _detected(scenario: Scenario) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(scenario.mongo.uri)
    try:
        n: int = await scenario.db(client).tickets.count_documents(
            {"hotspot_id": {"$exists": True}}
        )
        return n
    finally:
        await client.close()


async def _until(what: str, check: Any, within: float = 240) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: not within {within} s")


def bcubed_f1(found: Mapping[str, str | None], reference: Mapping[str, str]) -> float:
    """B-cubed F1 of the found clustering against the reference, over the reference's items."""
    clusters: dict[str | None, set[str]] = defaultdict(set)
    truth: dict[str, set[str]] = defaultdict(set)
    for item, label in reference.items():
        clusters[found.get(item) or f"none:{item}"].add(item)
        truth[label].add(item)
    precision = recall = 0.0
    for item, label in reference.items():
        mine, real = clusters[found.get(item) or f"none:{item}"], truth[label]
        both = len(mine & real)
        precision += both / len(mine)
        recall += both / len(real)
    precision, recall = precision / len(reference), recall / len(reference)
    return 2 * precision * recall / (precision + recall)


async def _settled(scenario: Scenario, n: int) -> bool:
    tickets, spots = await _db_state(scenario)
    return (
        len(tickets) == n
        and all(h is not None for h in tickets.values())
        and sum(int(s.get("tickets", 0)) for s in spots) == n
    )


async def _check_store(scenario: Scenario, reference: Mapping[str, str]) -> None:
    n = len(reference)
    await _until("every ticket detected and counted", lambda: _settled(scenario, n))
    tickets, spots = await _db_state(scenario)
    f1 = bcubed_f1(tickets, reference)
    assert f1 >= 0.99, f1
    pointing: dict[str, set[str]] = defaultdict(set)
    for ticket_id, hotspot_id in tickets.items():
        assert hotspot_id is not None
        pointing[hotspot_id].add(ticket_id)
    docs = {s["_id"]: s for s in spots}
    assert set(docs) == set(pointing)
    for hotspot_id, members in pointing.items():
        doc = docs[hotspot_id]
        assert set(doc["members"]) == members, hotspot_id
        assert doc["tickets"] == len(doc["members"]) == len(members), hotspot_id


def _questions(lines: list[bytes], reference: Mapping[str, str]) -> list[dict[str, str]]:
    """The latest ticket's text of each of the five largest hot spots still in the window at
    the end, and of the last two tickets."""
    tickets = [json.loads(line) for line in lines]
    by_id = {t["ticket_id"]: t for t in tickets}
    end = datetime.fromisoformat(tickets[-1]["received_at"])
    members: dict[str, list[str]] = defaultdict(list)
    for ticket_id, hotspot_id in reference.items():
        members[hotspot_id].append(ticket_id)
    alive = [
        max(ids, key=lambda t: by_id[t]["received_at"])
        for ids in sorted(members.values(), key=len, reverse=True)
        if end - datetime.fromisoformat(max(by_id[t]["received_at"] for t in ids))
        < timedelta(days=60)
    ]
    chosen = [by_id[t] for t in alive[:5]] + tickets[-2:]
    return [{"title": t["title"], "body": t["body"]} for t in chosen]


async def _answers(replica: Replica, questions: list[dict[str, str]]) -> list[Any]:
    out = []
    for question in questions:
        status, body = await replica.call("POST", "/v1/suggest", question)
        assert status == 200, body
        out.append({"similar": body["similar"], "hotspot": body["hotspot"]})
    return out


# After a SIGKILL the survivor's window can hold one ticket weighed a little differently from
# a rebuilt one (seen: 0.9886 and 0.9673 for 0.978, about one run in four under extra CPU load,
# never in instrumented runs; README "Known limits"). Its answers still name the same hot spot
# and the same similar tickets.
KILLED_TOLERANCE = 0.02


def _same(one: dict[str, Any], other: dict[str, Any], tolerance: float = 0.0) -> bool:
    """The same hot spot, and the same similar tickets with the same similarities: a window
    rebuilt from MongoDB scores exactly as one that followed the stage (within ``tolerance``
    where the stage's owner was killed)."""
    if not tolerance:
        return one == other

    def similar(answer: dict[str, Any]) -> dict[str, tuple[float, dict[str, Any]]]:
        return {
            s["ticket_id"]: (s["similarity"], {k: v for k, v in s.items() if k != "similarity"})
            for s in answer["similar"]
        }

    mine, theirs = similar(one), similar(other)
    return (
        one["hotspot"] == other["hotspot"]
        and mine.keys() == theirs.keys()
        and all(
            abs(mine[t][0] - theirs[t][0]) <= tolerance and mine[t][1] == theirs[t][1] for t in mine
        )
    )


async def _check_replicas(
    one: Replica,
    other: Replica,
    lines: list[bytes],
    reference: Mapping[str, str],
    tolerance: float = 0.0,
) -> None:
    """Both answer every question alike (once their windows have caught up), every hot spot
    named resolves, and the statistics count every stored ticket."""
    questions = _questions(lines, reference)

    seen: list[Any] = []

    async def alike() -> list[Any] | None:
        first, second = await _answers(one, questions), await _answers(other, questions)
        pairs = enumerate(zip(first, second, strict=True))
        seen[:] = [(i, a, b) for i, (a, b) in pairs if not _same(a, b, tolerance)][:1]
        return first if not seen else None

    try:
        answers = await _until("the same answers on both replicas", alike, within=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; first difference: {seen}") from None
    assert all(a["hotspot"] is not None for a in answers[:5])
    named = {a["hotspot"]["hotspot_id"] for a in answers if a["hotspot"]}
    named |= {s["hotspot_id"] for a in answers for s in a["similar"]}
    for hotspot_id in named:
        status, _ = await one.call("GET", f"/v1/hotspots/{hotspot_id}")
        assert status == 200, hotspot_id
    assert all(s["status_label"] and s["title"] for a in answers for s in a["similar"])

    async def counted() -> bool:
        total = 0
        for span in RANGES:
            status, body = await one.call("GET", f"/v1/stats/summary?{span}")
            assert status == 200, body
            total += body["tickets"]
        return total == len(reference)

    await _until("statistics totals equal to the stored tickets", counted, within=60)


async def test_two_replicas(
    scenario: Scenario, replay: tuple[list[bytes], dict[str, str]], tmp_path: Path
) -> None:
    """Two replicas from the start, one group: the hot spots are the reference's."""
    lines, reference = replay
    one, other = Replica(scenario, tmp_path), Replica(scenario, tmp_path)
    await asyncio.gather(one.ready(), other.ready())
    await scenario.publish(lines)
    await _check_store(scenario, reference)
    await _check_replicas(one, other, lines, reference)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_a_replica_joins_and_the_first_stops(
    scenario: Scenario,
    replay: tuple[list[bytes], dict[str, str]],
    tmp_path: Path,
    stop: signal.Signals,
) -> None:
    """A second replica joins at a third of the detection, the first is stopped (or killed)
    near the end: the survivor goes on from what is stored, and a replica started afterwards
    answers as the survivor does."""
    lines, reference = replay
    first = Replica(scenario, tmp_path)
    await first.ready()
    await scenario.publish(lines)
    n = len(lines)
    await _until("a third detected", lambda: _at_least(scenario, n // 3), within=240)
    second = Replica(scenario, tmp_path)
    await second.ready()
    await _until("most detected", lambda: _at_least(scenario, n * 9 // 10), within=240)
    first.proc.send_signal(stop)
    assert first.proc.wait(timeout=60) in (0, -signal.SIGKILL)
    await _check_store(scenario, reference)
    reader = Replica(scenario, tmp_path, stages="none")
    await reader.ready()
    tolerance = KILLED_TOLERANCE if stop == signal.SIGKILL else 0.0
    await _check_replicas(second, reader, lines, reference, tolerance)


async def _at_least(scenario: Scenario, n: int) -> bool:
    return await _detected(scenario) >= n
