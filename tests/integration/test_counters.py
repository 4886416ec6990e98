"""The daily counters against SecantusDB: kept at write time, exactly once through replays,
crashes between the document and the counter writes, and SIGKILLs; equal to a rebuild."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from streams.replay import replay
from tests.integration.service import ROOT, Scenario
from tests.records import CHANNELS, ticket_record
from tests.servers import MongoServer
from tests.tickets import malformed_lines, ticket_lines
from triage.adapters.store import DeadLetterRecord, EventWrite, MongoTicketStore, TicketRecord
from triage.core import counters
from triage.core.stats import LOCAL_TZ, StatsQuery

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=LOCAL_TZ)


class Crash(Exception):
    """Stands for the process dying between two writes."""


def _record(i: int, department: str | None = "city-housing") -> TicketRecord:
    at = DAY + timedelta(hours=i % 30)
    return ticket_record(f"c{i:04d}", department, at, channel=CHANNELS[i % 3])


@pytest.fixture
async def store(mongo_server: MongoServer, tmp_path: Path) -> AsyncIterator[MongoTicketStore]:
    s = MongoTicketStore(mongo_server.uri, f"ctr{abs(hash(tmp_path)) % 10**8}")
    await s.ensure_indexes()
    try:
        yield s
    finally:
        await s.close()


async def _assert_exact(store: MongoTicketStore) -> None:
    tally, _ = await store.counters.tally()
    assert await store.counters.stored() == tally.result()


async def test_crash_after_the_ticket_write_is_counted_once_on_replay(
    store: MongoTicketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tickets stored but their counters not written: the replayed batch writes them once."""
    batch = [_record(i) for i in range(40)]
    real = store.counters.count_inserted

    async def crash(*_: Any) -> None:
        raise Crash

    monkeypatch.setattr(store.counters, "count_inserted", crash)
    with pytest.raises(Crash):
        await store.upsert_batch(batch)
    monkeypatch.setattr(store.counters, "count_inserted", real)
    assert await store.counters.stored() == {}
    # The replay comes back with other tickets too, as a new batch would.
    await store.upsert_batch(batch[10:] + [_record(i) for i in range(40, 50)])
    await store.upsert_batch(batch[:10])
    await _assert_exact(store)
    summary = await store.counters.stored()
    assert sum(n for fields in summary.values() for f, n in fields.items() if "status." in f) == 50


async def test_crash_after_the_counters_before_the_journal_is_closed(
    store: MongoTicketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counters written but the operation not closed: a replay does not count them again."""
    batch = [_record(i, None if i % 4 == 0 else "city-housing") for i in range(30)]
    real = store.counters.finish

    async def crash(op: str | None) -> None:
        raise Crash

    monkeypatch.setattr(store.counters, "finish", crash)
    with pytest.raises(Crash):
        await store.upsert_batch(batch)
    monkeypatch.setattr(store.counters, "finish", real)
    await store.upsert_batch(batch)
    await store.upsert_batch(batch)
    await _assert_exact(store)
    assert await store.counters.journal.count_documents({}) == 0


async def test_an_unfinished_operation_is_completed_at_start(store: MongoTicketStore) -> None:
    """A journaled operation whose batch never comes back is completed at the next start."""
    real = store.counters.count_inserted

    async def crash(*_: Any) -> None:
        raise Crash

    store.counters.count_inserted = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await store.upsert_batch([_record(i) for i in range(12)])
    store.counters.count_inserted = real  # type: ignore[method-assign]
    old = datetime.now(UTC) - timedelta(hours=1)
    await store.counters.journal.update_many({}, {"$set": {"at": old}})
    await store.ensure_indexes()
    await _assert_exact(store)


async def test_events_count_once_through_a_crash_and_redeliveries(
    store: MongoTicketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event applied but its counters not written is counted by the repair, once."""
    await store.upsert_batch([_record(i) for i in range(3)])
    at = DAY + timedelta(hours=40)
    accept = {
        "event_id": "e-1",
        "ticket_id": "c0001",
        "type": "accept",
        "department": "city-housing",
        "from_status": "routed",
        "to_status": "accepted",
        "from_department": "city-housing",
        "at": at,
    }
    real = store.counters.count_event

    async def crash(*_: Any, **__: Any) -> None:
        raise Crash

    monkeypatch.setattr(store.counters, "count_event", crash)
    history = {"status": "accepted", "at": at}
    write = EventWrite("c0001", accept, 0, "accepted", "city-housing", history)
    with pytest.raises(Crash):
        await store.apply_event(write)
    monkeypatch.setattr(store.counters, "count_event", real)
    # What the outcome handler does when it finds the event in the timeline without a record.
    await store.record_event(accept)
    await store.record_event(accept)
    ret = {**accept, "event_id": "e-2", "type": "return", "reason": "不属于本部门."}
    ret |= {"from_status": "accepted", "to_status": "returned"}
    assert await store.apply_event(EventWrite("c0001", ret, 1, "returned", None, history))
    await store.record_event(ret)
    await store.add_deadletters([DeadLetterRecord("t", 0, 1, "invalid JSON: x", 3)] * 2)
    await store.add_deadletters([DeadLetterRecord("t", 0, 1, "invalid JSON: x", 3)])
    await _assert_exact(store)
    stored = await store.counters.stored()
    flow = stored[counters.flow_id("2026-11-22", "city-housing")]
    assert flow["accepted"] == 1 and flow["returned"] == 1
    assert flow[f"reason.{counters.key('不属于本部门.')}"] == 1
    assert sum(n for d, f in stored.items() if d.startswith("d|") for n in f.values()) == 1


# --- end to end ------------------------------------------------------------------------------


def _event(ticket: str, event_id: str, kind: str, **fields: str) -> tuple[bytes, bytes]:
    body = {"ticket_id": ticket, "event_id": event_id, "type": kind, **fields}
    return ticket.encode(), json.dumps(body, ensure_ascii=False).encode()


async def _wait_events(db: Any, n: int, within: float = 120) -> None:
    for _ in range(int(within / 0.5)):
        if await db.events.count_documents({}) >= n:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{await db.events.count_documents({})} events, expected {n}")


@pytest.mark.slow
async def test_counters_equal_a_rebuild_after_replays_sigkill_and_returns(
    scenario: Scenario, tmp_path: Path
) -> None:
    """A run with a SIGKILL, replayed tickets, duplicated events and returns: the counters
    equal a recount, and `triage stats rebuild` leaves them as they were."""
    proc = scenario.start_service(tmp_path)
    lines = ticket_lines(2000)
    publishing = asyncio.create_task(scenario.publish(lines + malformed_lines(12), rate=1500))
    await asyncio.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    scenario.start_service(tmp_path)
    await publishing
    await scenario.publish(lines[:400])  # replays
    await scenario.wait_stored(2000, 12, within=150)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(scenario.mongo.uri, tz_aware=True)
    try:
        db = scenario.db(client)
        routed = await db.tickets.find({"status": "routed"}).sort("_id", 1).to_list(300)
        events: list[tuple[bytes, bytes]] = []
        for i, doc in enumerate(routed):
            tid, dept = doc["_id"], doc["department"]
            events.append(_event(tid, f"a{i}", "accept", department=dept))
            if i % 3 == 0:
                events.append(
                    _event(tid, f"r{i}", "return", department=dept, reason="非本单位职责")
                )
                events.append(_event(tid, f"s{i}", "reassign", department="city-water"))
            elif i % 3 == 1:
                events.append(_event(tid, f"z{i}", "resolve", department=dept))
        topic = f"{scenario.prefix}.events"
        bootstrap = scenario.kafka.bootstrap
        await replay([v for _, v in events[: len(events) // 2]], bootstrap=bootstrap, topic=topic)
        scenario.procs[-1].send_signal(signal.SIGKILL)
        scenario.procs[-1].wait()
        scenario.start_service(tmp_path)
        # Everything again, duplicates included.
        await replay([v for _, v in events], bootstrap=bootstrap, topic=topic)
        await _wait_events(db, len(events))
        await asyncio.sleep(1.0)
        store = MongoTicketStore(scenario.mongo.uri, scenario.prefix)
        try:
            tally, (n_tickets, n_events, n_dead) = await store.counters.tally()
            assert (n_tickets, n_events, n_dead) == (2000, len(events), 12)
            before = await store.counters.stored()
            assert before == tally.result()
            returned = sum(f.get("returned", 0) for f in before.values())
            assert returned == len(routed[::3])
            rebuilt = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "triage", "stats", "rebuild"],
                env=scenario.env,
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            assert json.loads(rebuilt.stdout)["tickets"] == 2000
            assert await store.counters.stored() == before
        finally:
            await store.close()
    finally:
        await client.close()


async def test_statistics_read_a_copy_that_follows_writes_and_rebuilds(
    store: MongoTicketStore,
) -> None:
    """The in-memory copy of the counters, and its sums over the history, catch up with
    writes within a second, and reload whole after a rebuild (which may remove documents)."""

    def count(docs: list[dict[str, Any]]) -> int:
        return sum(sum((d.get("status") or {}).values()) for d in docs)

    async def tickets() -> int:
        stored = count(await store.counters.cache.read())
        summed = await store.counter_parts(StatsQuery(), "department")
        assert count(summed["state"]) == stored
        return stored

    await store.upsert_batch([_record(i) for i in range(5)])
    assert await tickets() == 5
    await store.upsert_batch([_record(i) for i in range(5, 8)])
    assert await tickets() == 5  # less than a second old
    await asyncio.sleep(1.1)
    assert await tickets() == 8
    await store.tickets.delete_many({"_id": {"$in": ["c0000", "c0001"]}})
    await store.counters.rebuild()
    await asyncio.sleep(1.1)
    assert await tickets() == 6
