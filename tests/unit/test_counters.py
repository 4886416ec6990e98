"""Counter logic: which increments a write implies, field-name escaping, bucket percentiles,
and the in-memory store keeping counters equal to a recount."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from triage.adapters.store import EventWrite, MemoryTicketStore, TicketRecord
from triage.core import counter_stats, counters
from triage.core.routing import Decision, Suggestion
from triage.core.stats import StatsQuery

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _record(tid: str, department: str | None, content: str = "a") -> TicketRecord:
    decision = Decision(
        decision_id=f"d-{tid}-{content}",
        ticket_id=tid,
        kind="routed" if department else "review",
        department=department,
        label="城乡建设",
        confidence=0.9,
        threshold=0.5,
        suggestions=(Suggestion("城乡建设", 0.9, "fs-zjj"),),
        evidence=(),
        model_version="m.1",
        district="禅城区",
    )
    return TicketRecord(tid, T0, "phone", "", content, None, decision)


def test_keys_escape_dots_dollars_and_tildes_and_round_trip() -> None:
    """Any value survives as a field name: no '.' or '$', and unkey gives it back."""
    for value in ["a.b", "$x", "50%", "-", "", "a~b", "禅城区", "%2E"]:
        name = counters.key(value)
        assert "." not in name and "$" not in name and "~" not in name
        assert counters.unkey(name) == value
    assert counters.key(None) == counters.NONE and counters.unkey(counters.NONE) is None


def test_bucket_percentile_interpolates_inside_buckets() -> None:
    """Percentiles come from bucket counts: linear inside the bucket, open last bucket."""
    counts = {counters.bucket(2): 1, counters.bucket(4): 1}
    assert counters.bucket_percentile(counts, 0.5) == 2.0
    assert counters.bucket_percentile(counts, 0.9) == 3.8
    assert counters.bucket_percentile({}, 0.5) is None
    assert counters.bucket_percentile({counters.bucket(5000): 3}, 0.5) == 720


def test_ticket_delta_moves_a_ticket_between_statuses() -> None:
    """A changed ticket subtracts its old state and adds its new one (accepted: settled)."""
    old = {"received_day": "2026-11-20", "status": "routed", "department": "x", "channel": "web"}
    new = {**old, "status": "accepted"}
    delta = counters.ticket_delta(old, new)
    settled = "settled.-~false~-"
    assert delta == {"s|2026-11-20|x": {"status.routed": -1, "status.accepted": 1, settled: 1}}


async def test_memory_store_counters_equal_a_recount_and_feed_the_figures() -> None:
    """Writes, a replay, a re-decision and events keep counters equal to a recount."""
    store = MemoryTicketStore()
    await store.upsert_batch([_record("t1", "fs-zjj"), _record("t2", None)])
    await store.upsert_batch([_record("t1", "fs-zjj")])  # replay: no change
    await store.upsert_batch([_record("t2", "fs-hb", content="b")])  # new decision
    at = T0 + timedelta(hours=5)
    event = {"event_id": "e1", "ticket_id": "t1", "type": "accept", "department": "fs-zjj"}
    write = EventWrite("t1", {**event, "at": at}, 0, "accepted", "fs-zjj", {"at": at})
    assert await store.apply_event(write)
    tally = counters.Tally()
    for doc in store.docs.values():
        tally.ticket(doc)
    for record in store.events.values():
        tally.event(record, T0)
    assert counters.counts_of(store.counters.values()) == tally.result()
    parts = counter_stats.split(store.counters.values())
    summary = counter_stats.summary(StatsQuery(), parts, None)
    assert (summary["tickets"], summary["auto_routed"]) == (2, 1)  # t2 was reviewed first
    assert summary["by_status"]["accepted"] == 1 and summary["by_status"]["review"] == 0
    assert [m["decisions"] for m in summary["models"]] == [3]
    deps = counter_stats.departments(StatsQuery(), parts, {})["departments"]
    zjj = next(d for d in deps if d["department"] == "fs-zjj")
    assert zjj["accepted"] == 1 and zjj["hours_to_accept"]["n"] == 1


def test_pending_adds_up_operations_and_keeps_the_latest_times() -> None:
    """Deferred counts sum per field, drop what cancels out and keep the later times."""
    pending = counters.Pending()
    later = T0 + timedelta(hours=1)
    pending.add("b1", {"s|d|x": {"status.routed": 2, "channel.web": 1}}, {"m|d": {"last.m": T0}})
    pending.add("b2", {"s|d|x": {"status.routed": -2}, "s|d|y": {"status.review": 1}}, {})
    pending.add("b3", {}, {"m|d": {"last.m": later}})
    assert pending.ops == ["b1", "b2", "b3"] and len(pending) == 3
    assert pending.increments() == {"s|d|x": {"channel.web": 1}, "s|d|y": {"status.review": 1}}
    assert pending.lasts == {"m|d": {"last.m": later}}


async def test_memory_store_defers_counts_until_flushed() -> None:
    """With defer_counts the tickets are stored at once and counted at the flush, once."""
    store = MemoryTicketStore()
    await store.upsert_batch([_record("t1", "fs-zjj"), _record("t2", None)], defer_counts=True)
    await store.upsert_batch([_record("t3", "fs-hb")], defer_counts=True)
    assert len(store.docs) == 3 and store.counters == {}
    assert len(store.deferred) == 2
    await store.flush_counts()
    await store.flush_counts()  # nothing left: changes nothing
    tally = counters.Tally()
    for doc in store.docs.values():
        tally.ticket(doc)
    assert counters.counts_of(store.counters.values()) == tally.result()
    assert len(store.deferred) == 0


def test_the_cached_selection_matches_the_portable_evaluator() -> None:
    """The one-pass selection of counter documents gives what the general evaluator gives."""
    from triage.adapters.store.counter_cache import select
    from triage.core.aggregation import run_pipeline

    docs = [
        {"_id": f"{k}|{day}|{d}", "kind": kind, "day": day, "department": d}
        for k, kind in (("s", "state"), ("f", "flow"), ("d", "dead"))
        for day in ("2026-11-19", "2026-11-20", "2026-11-21")
        for d in ("a", "b", None)
    ]
    queries = [
        StatsQuery(),
        StatsQuery(date(2026, 11, 20), None, "a"),
        StatsQuery(None, date(2026, 11, 20)),
        StatsQuery(date(2026, 11, 20), date(2026, 11, 21)),
    ]
    for q in queries:
        for pipeline in (counter_stats.department_pipeline(q), counter_stats.global_pipeline(q)):
            assert select(docs, pipeline) == run_pipeline(docs, pipeline)
    assert select(docs, [{"$match": {}}, {"$count": "n"}]) is None
