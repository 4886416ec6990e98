"""A refused event stays refused however the events topic is read again: after a SIGKILL
between handling and commit, and after a rebalance, a stream of a refused event followed by
a legal one for the same ticket leaves what it leaves without either.

The crash must land after both events were handled and before their offsets are committed:
the service started with ``TRIAGE_TEST_HOLD_EVENT_COMMITS=on`` handles events but never
commits them, so the SIGKILL (or the leaving replica) finds everything written and nothing
committed; the test checks the group's committed offsets to be sure.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from streams.topics import topic_names
from tests.integration.api import publish
from tests.integration.service import ANALYZER, TRIAGE, Scenario
from tests.servers import KafkaServer, MongoServer
from tests.tickets import ticket_lines
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MongoTicketStore
from triage.core.settings import Topics
from triage.core.stats import LOCAL_TZ

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TICKETS = ticket_lines(60)
HOLD = {"TRIAGE_TEST_HOLD_EVENT_COMMITS": "on"}
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2})?")
REFUSED_AGAIN = "event refused again, dead letter written before"


@pytest.fixture
def scenarios(kafka_server: KafkaServer, mongo_server: MongoServer) -> Iterator[list[Scenario]]:
    """Two runs of the same streams on their own prefixes: without a crash, and with one."""
    runs = [Scenario(kafka_server, mongo_server) for _ in range(2)]
    try:
        yield runs
    finally:
        for run in runs:
            run.close()


def _start(scenario: Scenario, log_dir: Path, *, hold: bool = False) -> subprocess.Popen[bytes]:
    argv = [TRIAGE, "serve", "--no-http", "--analyzer", ANALYZER]
    return scenario.services.start(argv, {**scenario.env, **(HOLD if hold else {})}, log_dir)


def _event(ticket: str, event_id: str, kind: str, department: str) -> bytes:
    body = {"ticket_id": ticket, "event_id": event_id, "type": kind, "department": department}
    return json.dumps(body).encode()


class Stream:
    """The events of one run: on a routed ticket a resolve (refused: not accepted yet) then
    an accept; on a review ticket an accept (refused: not the department's) then the
    reassignment to that department. Replayed without memory, both refused ones are legal."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            scenario.mongo.uri, tz_aware=True
        )
        self.db = scenario.db(self.client)
        self.routed: dict[str, Any] = {}
        self.started = datetime.now(UTC)
        self.review: dict[str, Any] = {}

    async def tickets(self) -> None:
        await self.scenario.publish(TICKETS)
        await self.scenario.wait_stored(len(TICKETS), 0, within=180)
        self.routed = await self.db.tickets.find_one({"status": "routed"}, sort=[("_id", 1)])
        self.review = await self.db.tickets.find_one({"status": "review"}, sort=[("_id", 1)])

    @property
    def refused(self) -> list[tuple[bytes, bytes]]:
        routed, review = self.routed["_id"], self.review["_id"]
        return [
            (routed.encode(), _event(routed, "e1", "resolve", self.routed["department"])),
            (review.encode(), _event(review, "e3", "accept", "city-water")),
        ]

    @property
    def legal(self) -> list[tuple[bytes, bytes]]:
        routed, review = self.routed["_id"], self.review["_id"]
        return [
            (routed.encode(), _event(routed, "e2", "accept", self.routed["department"])),
            (review.encode(), _event(review, "e4", "reassign", "city-water")),
        ]

    async def send(self, events: list[tuple[bytes, bytes]]) -> None:
        await publish(self.scenario.kafka.bootstrap, f"{self.scenario.prefix}.events", events)

    async def wait(
        self, predicate: Callable[[], Awaitable[bool]], what: str, within: float = 120
    ) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await predicate():
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{self.scenario.prefix}: {what} not reached in {within} s")

    async def handled(self, applied: int, dead: int) -> bool:
        counts = (
            await self.db.events.count_documents({}),
            await self.db.deadletters.count_documents({}),
        )
        return bool(counts == (applied, dead))

    async def committed(self) -> int:
        """Events offsets the group committed, summed over the topic's partitions."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.scenario.kafka.bootstrap,
            group_id=f"triage-{self.scenario.prefix}-events",
        )
        await consumer.start()
        try:
            topic = f"{self.scenario.prefix}.events"
            n = topic_names(Topics(self.scenario.prefix), load_registry())[topic]
            return sum([await consumer.committed(TopicPartition(topic, p)) or 0 for p in range(n)])
        finally:
            await consumer.stop()

    async def members(self) -> int:
        """Members of the events group, once it is stable (-1 while it rebalances)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.scenario.kafka.bootstrap)
        await admin.start()
        try:
            (response,) = await admin.describe_consumer_groups(
                [f"triage-{self.scenario.prefix}-events"]
            )
            (group,) = response.groups
            return len(group[5]) if group[2] == "Stable" else -1
        finally:
            await admin.close()

    async def members_are(self, n: int) -> bool:
        return await self.members() == n

    async def committed_is(self, n: int) -> bool:
        return await self.committed() == n

    async def outcome(self) -> dict[str, Any]:
        """What the run left, with the run's own names taken out: both tickets and their
        timelines, applied and refused events, dead letters (stored and published), the
        other topics' records, and the statistics counters (which must equal a recount)."""
        prefix = self.scenario.prefix
        tickets = {}
        for doc in (self.routed, self.review):
            now = await self.db.tickets.find_one({"_id": doc["_id"]})
            tickets[doc["_id"]] = {
                "status": now["status"],
                "department": now["department"],
                "timeline": [
                    (h["status"], h.get("event"), h.get("event_id"), h.get("department"))
                    for h in now["status_history"]
                ],
                "assignments": [a["event_id"] for a in now.get("assignments", [])],
            }
        events = await self.db.events.find().to_list()
        refusals = await self.db.refused_events.find().to_list()
        stored_dead = await self.db.deadletters.find().to_list()
        published: dict[str, Any] = {}
        for topic, records in (await self.scenario.outputs()).items():
            rows = [
                tuple(
                    h.get(k, b"") for k in ("source_offset", "reason", "ticket_id", "decision_id")
                )
                for _, h in records
            ]
            # A ticket replayed after the SIGKILL may be published again under its decision
            # id (departments deduplicate); dead letters are compared one by one.
            name = topic.removeprefix(prefix)
            published[name] = sorted(rows) if name == ".deadletter" else sorted(set(rows))
        store = MongoTicketStore(self.scenario.mongo.uri, prefix)
        try:
            counters = await store.counters.stored()
            tally, _ = await store.counters.tally()
        finally:
            await store.close()
        assert counters == tally.result(), "the counters equal a recount"
        return {
            "tickets": tickets,
            "events": sorted((e["event_id"], e["type"], e["to_status"]) for e in events),
            "refusals": sorted(
                (r["_id"], r["kind"], r["reason"], r["dead_letter"]["offset"]) for r in refusals
            ),
            "deadletters": sorted((d["partition"], d["offset"], d["reason"]) for d in stored_dead),
            "published": published,
            "counters": _timeless(counters, self.started),
        }

    async def close(self) -> None:
        await self.client.close()


def _timeless(counters: dict[str, dict[str, int]], since: datetime) -> dict[str, dict[str, int]]:
    """The counters with the days and hours of this run (events, dead letters, a clock
    restarted by a reassignment) named ``<run>``: two runs minutes apart compare equal."""
    day = since.astimezone(LOCAL_TZ).strftime("%Y-%m-%d")
    hour = since.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H")

    def name(text: str) -> str:
        return _LOCAL_TIME.sub(
            lambda m: "<run>" if m.group(0) >= (hour if m.group(1) else day) else m.group(0), text
        )

    out: dict[str, dict[str, int]] = {}
    for doc_id, fields in counters.items():
        into = out.setdefault(name(doc_id), {})
        for field, n in fields.items():
            into[name(field)] = into.get(name(field), 0) + n
    return out


def _log_dir(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


def _refused_again(log_dir: Path, n: int) -> int:
    return (log_dir / f"serve-{n}.log").read_text("utf-8").count(REFUSED_AGAIN)


async def _without_crash(scenario: Scenario, log_dir: Path) -> dict[str, Any]:
    """The outcome of the stream on one service that commits as it goes."""
    stream = Stream(scenario)
    try:
        _start(scenario, log_dir)
        await stream.tickets()
        await stream.send(stream.refused + stream.legal)
        await stream.wait(lambda: stream.committed_is(4), "every event committed")
        await stream.wait(lambda: stream.handled(2, 2), "two applied, two dead letters")
        assert _refused_again(log_dir, 0) == 0
        outcome = await stream.outcome()
    finally:
        await stream.close()
    routed, review = outcome["tickets"].values()
    assert (routed["status"], review["status"], review["department"]) == (
        "accepted",
        "reassigned",
        "city-water",
    )
    return outcome


async def test_sigkill_after_handling_before_commit_leaves_the_same_outcome(
    scenarios: list[Scenario], tmp_path: Path
) -> None:
    """SIGKILL with the refused and the legal events handled and none committed: the restart
    reads all four again, refuses the refused ones from memory without new dead letters, and
    leaves tickets, timelines, dead letters and counters as the run without a crash."""
    baseline, crashed = scenarios
    expected = await _without_crash(baseline, _log_dir(tmp_path, "baseline"))
    log_dir = _log_dir(tmp_path, "crash")
    stream = Stream(crashed)
    try:
        first = _start(crashed, log_dir, hold=True)
        await stream.tickets()
        await stream.send(stream.refused + stream.legal)
        await stream.wait(lambda: stream.handled(2, 2), "two applied, two dead letters")
        assert await stream.committed() == 0
        first.send_signal(signal.SIGKILL)
        first.wait()
        _start(crashed, log_dir)
        await stream.wait(lambda: stream.committed_is(4), "every event committed")
        assert _refused_again(log_dir, 1) == 2
        assert await stream.outcome() == expected
    finally:
        await stream.close()


async def test_rebalance_between_the_refused_and_the_legal_event_leaves_the_same_outcome(
    scenarios: list[Scenario], tmp_path: Path
) -> None:
    """Refused events handled, a second replica joins, the legal events handled, the first
    replica leaves, then the second: nothing was committed, so the partitions moved at each
    step and the last replica reads all four again after the legal ones were applied; the
    refused ones are refused from memory and the outcome equals the run without any of it."""
    baseline, moved = scenarios
    expected = await _without_crash(baseline, _log_dir(tmp_path, "baseline"))
    log_dir = _log_dir(tmp_path, "rebalance")
    stream = Stream(moved)
    try:
        first = _start(moved, log_dir, hold=True)
        await stream.tickets()
        await stream.send(stream.refused)
        await stream.wait(lambda: stream.handled(0, 2), "two dead letters")
        second = _start(moved, log_dir, hold=True)
        await stream.wait(lambda: stream.members_are(2), "the second replica in the group")
        await stream.send(stream.legal)
        await stream.wait(lambda: stream.handled(2, 2), "two applied, two dead letters")
        for leaving in (first, second):
            leaving.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(leaving.wait, 60) == 0
        assert await stream.committed() == 0
        _start(moved, log_dir)
        await stream.wait(lambda: stream.committed_is(4), "every event committed")
        assert _refused_again(log_dir, 2) == 2
        assert await stream.outcome() == expected
    finally:
        await stream.close()
