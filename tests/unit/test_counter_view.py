"""The counter copy's running sums give every figure exactly what the documents of the range
give, as documents change and after the copy is reloaded for a rebuild."""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from triage.adapters.store.counter_cache import CounterCache, CounterView, select
from triage.core import backlog_stats, counter_stats, stats
from triage.core.deadlines import Deadlines
from triage.core.stats import StatsQuery

Doc = dict[str, Any]
DEPARTMENTS = ("fs-a", "fs-b", "fs-c", None)
KEYS = {"fs-a": "fs-a", "fs-b": "fs-b", "fs-c": "fs-c", None: "-"}
DAYS = [(date(2026, 11, 10) + timedelta(days=i)).isoformat() for i in range(10)]
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
NAMES = {"fs-a": "住建局", "fs-b": "环保局"}
LIMITS = Deadlines(7.0, 35.0)
QUERIES = [
    StatsQuery(),
    StatsQuery(department="fs-a"),
    StatsQuery(department="fs-z"),
    StatsQuery(date(2026, 11, 13), date(2026, 11, 19)),
    StatsQuery(date(2026, 11, 13), date(2026, 11, 19), "fs-b"),
    StatsQuery(date(2026, 11, 15), None),
    StatsQuery(None, date(2026, 11, 12), "fs-c"),
    StatsQuery(date(2026, 12, 1), None),
]


def _some(rng: random.Random, keys: list[str], most: int = 4) -> dict[str, int]:
    """Counts for some of ``keys``, zeros included (a count taken back stays at zero)."""
    return {k: rng.randint(0, most) for k in keys if rng.random() < 0.6}


def _state(rng: random.Random, day: str, department: str | None) -> Doc:
    firsts = [*KEYS.values()]
    hours = [f"{day}T{h:02d}" for h in range(8, 20)]
    return {
        "status": _some(rng, ["review", "routed", "accepted", "returned", "resolved"]),
        "channel": _some(rng, ["phone", "web", "app"]),
        "district": _some(rng, ["禅城区", "-", "%20"]),  # None and "" rank alike
        "label": _some(rng, ["城乡建设", "环境保护"]),
        "auto": _some(rng, ["true", "false"]),
        "model": _some(rng, ["m%2E1", "m2", "-"]),
        "acc_open": _some(rng, hours, 2),
        "res_open": _some(rng, hours, 2),
        "settled": _some(rng, [f"{f}~{a}~m2" for f in firsts for a in ("true", "false")]),
    }


def _flow(rng: random.Random) -> Doc:
    doc: Doc = {
        name: rng.randint(0, 5)
        for name in ("accepted", "returned", "resolved", "reassigned_to")
        if rng.random() < 0.7
    }
    doc["reason"] = _some(rng, ["%20", "不属于本部门职责", "地址不在辖区"])
    doc["accept_h"] = _some(rng, [str(i) for i in range(6)])
    doc["resolve_h"] = _some(rng, [str(i) for i in range(4, 12)])
    return doc


def _doc(kind: str, day: str, department: str | None, fields: Doc) -> Doc:
    prefix = {"state": "s", "flow": "f", "dead": "d", "models": "m"}[kind]
    where = f"|{KEYS[department]}" if kind in ("state", "flow") else ""
    meta = {"kind": kind, "day": day, "department": department, "updated_at": NOW}
    return {"_id": f"{prefix}|{day}{where}", **meta, **fields}


def _documents(rng: random.Random, days: list[str] = DAYS) -> list[Doc]:
    docs: list[Doc] = []
    for day in days:
        for department in DEPARTMENTS:
            if rng.random() < 0.8:
                docs.append(_doc("state", day, department, _state(rng, day, department)))
            if rng.random() < 0.8:
                docs.append(_doc("flow", day, department, _flow(rng)))
        if rng.random() < 0.7:
            docs.append(_doc("dead", day, None, {"reason": _some(rng, ["schema", "invalid JSON"])}))
        at = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=rng.randint(0, 9))
        docs.append(_doc("models", day, None, {"last": {"m%2E1": at, "m2": at}}))
    rng.shuffle(docs)
    return docs


def _stored(docs: list[Doc], q: StatsQuery) -> dict[str, list[Doc]]:
    """The documents of the range, selected by the pipelines that define it."""
    rows = select(docs, counter_stats.department_pipeline(q))
    rows_global = select(docs, counter_stats.global_pipeline(q))
    assert rows is not None and rows_global is not None
    return counter_stats.split([*rows, *rows_global])


@pytest.mark.parametrize("seed", range(4))
def test_the_settled_figures_read_their_counts_summed_as_they_tell_them_apart(seed: int) -> None:
    """Accuracy sums the settled counts by class before shaping, the wrong routings read them
    summed over routing and model: the figures of every settled count as it is."""
    docs = _documents(random.Random(200 + seed))
    for q in QUERIES:
        parts = _stored(docs, q)
        rows = counter_stats.settled_rows(parts["state"])
        assert counter_stats.accuracy(q, parts) == stats.shape_accuracy(q, rows)
        pairs = {"state": counter_stats.settled_pairs(parts["state"])}
        expected = backlog_stats.routings(q, parts, NAMES)
        assert backlog_stats.routings(q, pairs, NAMES) == expected


def _figures(q: StatsQuery, read: Any) -> dict[str, Any]:
    """Every figure of ``q``; ``read(grain)`` gives the documents a grain allows."""
    by_department, by_day, open_ = read("department"), read("day"), read("open")
    return {
        "summary": counter_stats.summary(q, by_department, "m2"),
        "daily": counter_stats.daily(q, by_day),
        "departments": counter_stats.departments(q, by_department, NAMES),
        "accuracy": counter_stats.accuracy(q, by_department),
        "routings": backlog_stats.routings(
            q, {"state": counter_stats.settled_pairs(by_department["state"])}, NAMES
        ),
        "backlog": backlog_stats.backlog(q, open_, NAMES, lambda _: LIMITS, NOW),
    }


def _assert_same_figures(view: CounterView, docs: list[Doc]) -> None:
    for q in QUERIES:
        expected = _figures(q, lambda _grain, q=q: _stored(docs, q))
        assert _figures(q, lambda grain, q=q: view.parts(q, grain)) == expected, q


@pytest.mark.parametrize("seed", range(6))
def test_every_figure_from_the_sums_equals_the_figure_from_the_documents(seed: int) -> None:
    """No filter, a department, day ranges open or closed: the same figures, zeros and
    ties included, whatever the order the documents came in."""
    docs = _documents(random.Random(seed))
    _assert_same_figures(CounterView.of(docs), docs)
    _assert_same_figures(CounterView.of(reversed(docs)), docs)


def test_without_a_range_a_request_reads_one_sum_per_department() -> None:
    """The cost of a request without a range is the departments', not the days'."""
    view = CounterView.of(_documents(random.Random(7)))
    parts = view.parts(StatsQuery(), "department")
    assert len(parts["state"]) == len(DEPARTMENTS) and len(parts["models"]) == 1
    assert len(parts["dead"]) == 1
    assert len(view.parts(StatsQuery(department="fs-a"), "department")["flow"]) == 1
    assert len(view.parts(StatsQuery(), "day")["state"]) == len(DAYS)
    week = StatsQuery(date(2026, 11, 13), date(2026, 11, 19))
    assert {d["day"] for d in view.parts(week, "department")["state"]} == set(DAYS[3:])


NEW_KEYS = {
    "acc_open": [f"{DAYS[-1]}T10", f"{DAYS[0]}T23"],
    "res_open": [f"{DAYS[2]}T10"],
    "accept_h": ["7", "19"],
    "resolve_h": ["0", "15"],
    "settled": ["fs-b~true~new", "-~false~m2", "fs-new~true~m2"],
}


def _changed(rng: random.Random, doc: Doc) -> Doc:
    """A new version of a document: counts raised, lowered to zero, gone and new."""
    new = copy.deepcopy(doc)
    for name, value in list(new.items()):
        if isinstance(value, dict) and name != "last":
            for sub in list(value):
                roll = rng.random()
                if roll < 0.3:
                    value[sub] += rng.randint(1, 3)
                elif roll < 0.4:
                    value[sub] = 0
                elif roll < 0.5:
                    del value[sub]
            value[rng.choice(NEW_KEYS.get(name, ["new0", "new1"]))] = rng.randint(0, 2)
        elif isinstance(value, int) and not isinstance(value, bool):
            new[name] = value + rng.randint(-value, 2)
    if new["kind"] == "models":
        later = rng.random() < 0.7  # a $max raises; a rebuild may lower
        shift = timedelta(hours=3 if later else -30)
        new["last"] = {k: at + shift for k, at in new["last"].items()}
    if new["kind"] == "state" and rng.random() < 0.3:
        new["status"] = {"resolved": 2}  # its open tickets all settled
    return new


@pytest.mark.parametrize("seed", range(4))
def test_the_sums_follow_changed_and_new_documents(seed: int) -> None:
    """A changed document's old counts leave the sums and its new ones enter; figures read
    before the change are not altered by it."""
    rng = random.Random(100 + seed)
    docs = {d["_id"]: d for d in _documents(rng, DAYS[:7])}
    view = CounterView.of(docs.values())
    q = StatsQuery()
    before = {grain: view.parts(q, grain) for grain in ("department", "day", "open")}
    figures = _figures(q, lambda grain: before[grain])
    for _ in range(3):
        for doc_id in rng.sample(sorted(docs), len(docs) // 3):
            docs[doc_id] = _changed(rng, docs[doc_id])
            view.put(docs[doc_id])
        for doc in _documents(rng, DAYS[7:]):  # new days, then changes to them
            docs[doc["_id"]] = doc if doc["_id"] not in docs else _changed(rng, docs[doc["_id"]])
            view.put(docs[doc["_id"]])
        view.put(copy.deepcopy(docs[rng.choice(sorted(docs))]))  # the same again: no change
        _assert_same_figures(view, list(docs.values()))
    assert _figures(q, lambda grain: before[grain]) == figures


def test_a_count_no_document_holds_leaves_the_sums_and_one_held_at_zero_stays() -> None:
    """Figures list what documents hold even at zero (an accuracy row with no tickets), so
    the sums keep a count while any document holds it, and drop it when none does."""
    day1, day2 = DAYS[0], DAYS[1]
    one = _doc("state", day1, "fs-a", {"settled": {"fs-a~true~solo": 1, "fs-a~true~m2": 2}})
    two = _doc("state", day2, "fs-a", {"settled": {"fs-a~true~m2": 1, "fs-b~true~zero": 0}})
    view = CounterView.of([one, two])
    models = [m["model_version"] for m in _accuracy(view)["by_model"]]
    assert models == ["m2", "solo", "zero"]
    view.put({**one, "settled": {"fs-a~true~m2": 2}})  # its solo ticket was returned
    assert [m["model_version"] for m in _accuracy(view)["by_model"]] == ["m2", "zero"]
    view.put({**two, "settled": {"fs-a~true~m2": 1}})
    assert [m["model_version"] for m in _accuracy(view)["by_model"]] == ["m2"]
    assert _accuracy(view)["tickets"] == 3


def _accuracy(view: CounterView) -> dict[str, Any]:
    return counter_stats.accuracy(StatsQuery(), view.parts(StatsQuery(), "department"))


class _Collection:
    """What CounterCache asks of a collection: ``hello`` and a find by ``updated_at``."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.clock = NOW

    @property
    def database(self) -> Any:
        return self

    @property
    def client(self) -> Any:
        return self

    @property
    def admin(self) -> Any:
        return self

    async def command(self, name: str) -> Doc:
        assert name == "hello"
        return {"localTime": self.clock}

    def find(self, query: Doc, projection: Doc) -> Any:
        since = query.get("updated_at", {}).get("$gte")
        rows = [
            copy.deepcopy(d)
            for d in self.docs.values()
            if since is None or d["updated_at"] >= since
        ]

        class Cursor:
            async def to_list(self) -> list[Doc]:
                return rows

        return Cursor()

    def write(self, doc: Doc) -> None:
        self.clock += timedelta(seconds=5)
        self.docs[doc["_id"]] = {**doc, "updated_at": self.clock}


async def _current(cache: CounterCache) -> CounterView:
    cache.checked = float("-inf")  # as if a second had passed
    return await cache.current()


async def test_the_cache_updates_its_sums_and_starts_again_after_a_rebuild() -> None:
    """Changed documents update the sums in place of a reload; a new generation (a rebuild,
    which may remove documents) starts the copy again from nothing."""
    rng = random.Random(5)
    collection = _Collection()
    for doc in _documents(rng, DAYS[:5]):
        collection.write(doc)
    collection.write({"_id": "generation", "kind": "meta", "value": "g1"})
    cache = CounterCache(collection, generation="generation")  # type: ignore[arg-type]
    view = await _current(cache)
    stored = [d for d in collection.docs.values() if d["_id"] != "generation"]
    _assert_same_figures(view, stored)
    changed = _changed(rng, collection.docs[sorted(collection.docs)[3]])
    collection.write(changed)
    for doc in _documents(rng, DAYS[5:6]):
        collection.write(doc)
    assert await _current(cache) is view  # brought up to date, not reloaded
    stored = [d for d in collection.docs.values() if d["_id"] != "generation"]
    _assert_same_figures(view, stored)
    # A rebuild: some documents gone, others rewritten, and a new generation.
    for doc_id in sorted(collection.docs)[:8]:
        if doc_id != "generation":
            del collection.docs[doc_id]
    for doc_id in sorted(collection.docs)[:5]:
        if doc_id != "generation":
            collection.write(_changed(rng, collection.docs[doc_id]))
    collection.write({"_id": "generation", "kind": "meta", "value": "g2"})
    rebuilt = await _current(cache)
    assert rebuilt is not view
    stored = [d for d in collection.docs.values() if d["_id"] != "generation"]
    assert len(rebuilt.docs) == len(stored)
    _assert_same_figures(rebuilt, stored)
