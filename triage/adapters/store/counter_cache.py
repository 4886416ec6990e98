"""The counter documents in memory, for the statistics endpoints.

SecantusDB reads a few thousand documents a second, so reading every counter document of a
range at each request would cost seconds at a year's history. The copy is brought up to date
at most once a REFRESH_S with only the documents changed since the last look (``updated_at``,
stamped by the server, indexed), looking back _OVERLAP further for writes that were in
flight; a rebuild changes the generation document and the copy is reloaded whole.

Summing the copy's documents at each request would still cost what the history holds (a
year is some 40,000 documents). So the copy also keeps (``CounterView``) their sums over all
days per kind and department, and over all departments per kind and day, brought up to date
as documents change: a changed document's old counts are taken away and its new ones added.
A request reads what its filter needs (``Grain``): without a day range, the sums of each
department, a few dozen documents whatever the history; with one, the documents of its days.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection

from triage.core.counters import OPEN_STATUSES
from triage.core.stats import StatsQuery

__all__ = ["KINDS", "REFRESH_S", "CounterCache", "CounterView", "Grain", "Parts", "select"]

Doc = dict[str, Any]
Parts = dict[str, list[Doc]]
REFRESH_S = 1.0
_OVERLAP = timedelta(seconds=2)
KINDS = ("state", "flow", "dead", "models")
# What the figures of a request may read, merged as finely as they need it:
# - "department": no figure reads a document's day, so the documents of each kind and
#   department may be summed over the days of the range;
# - "day": no figure reads a document's department (nor filters by one), so the documents of
#   each kind and day may be summed over the departments;
# - "open": the state documents that hold open tickets, as stored (the backlog reads each
#   one's day and its open tickets' hours; the others count nothing there).
Grain = Literal["department", "day", "open"]
_META = frozenset({"_id", "kind", "day", "department", "ops", "updated_at", "value"})
# Not summed: the hours at which open tickets' clocks started (their keys grow with the
# history, and only the backlog reads them, per document) and the models' last decision
# times (kept as their maximum, ``_Lasts``).
_UNSUMMED = frozenset({"acc_open", "res_open", "last"})
_SUMMED_KINDS = ("state", "flow", "dead")


class _Group:
    """The field-by-field sum of some counter documents. A count that no document of the
    group holds any more is dropped, as a sum made afresh would not have it; one that
    documents hold at zero stays (figures list it)."""

    __slots__ = ("counts", "doc", "holders", "meta", "tops")

    def __init__(self, meta: Doc) -> None:
        self.meta = meta
        self.counts: dict[str, dict[str, int]] = {}
        self.holders: dict[str, dict[str, int]] = {}  # documents holding each count
        self.tops: dict[str, int] = {}
        self.doc: Doc | None = None

    def add(self, doc: Doc, sign: int) -> None:
        self.doc = None
        for name, value in doc.items():
            if name in _META or name in _UNSUMMED:
                continue
            if isinstance(value, dict):
                counts = self.counts.setdefault(name, {})
                holders = self.holders.setdefault(name, {})
                for sub, n in value.items():
                    if not isinstance(n, int):
                        continue
                    if sign > 0:
                        counts[sub] = counts.get(sub, 0) + n
                        holders[sub] = holders.get(sub, 0) + 1
                    elif holders[sub] > 1:
                        counts[sub] -= n
                        holders[sub] -= 1
                    else:
                        del counts[sub], holders[sub]
            elif isinstance(value, int):
                self.tops[name] = self.tops.get(name, 0) + sign * value

    def document(self) -> Doc:
        """The sum as a counter document (a new one after each change: never altered)."""
        if self.doc is None:
            doc: Doc = {**self.meta, **self.tops}
            doc.update((name, dict(counts)) for name, counts in self.counts.items() if counts)
            self.doc = doc
        return self.doc


class _Sums:
    """Counter documents summed by kind and one of ``day`` or ``department``."""

    def __init__(self, by: Literal["day", "department"]) -> None:
        self.by = by
        self.groups: dict[str, dict[str | None, _Group]] = {k: {} for k in _SUMMED_KINDS}

    def add(self, doc: Doc, sign: int) -> None:
        kind, where = str(doc.get("kind")), doc.get(self.by)
        groups = self.groups[kind]
        group = groups.get(where)
        if group is None:
            other = "department" if self.by == "day" else "day"
            meta = {"_id": f"sum|{kind}|{where}", "kind": kind, self.by: where, other: None}
            group = groups[where] = _Group(meta)
        group.add(doc, sign)

    def documents(self, kind: str, where: Iterable[str | None] | None = None) -> list[Doc]:
        """The sums of one kind: of every group, or of the groups named in ``where``."""
        groups = self.groups[kind]
        if where is None:
            return [g.document() for g in groups.values()]
        return [g.document() for w in where if (g := groups.get(w)) is not None]


def _at_least(value: object, than: object) -> bool:
    return isinstance(value, datetime) and isinstance(than, datetime) and value >= than


class _Lasts:
    """The models' last decision time per version over every day. A ``$max`` only raises a
    document's times, so the maximum follows by raising; anything else recomputes it."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.on_day: dict[str, dict[str, Doc]] = {}
        self.doc: Doc | None = None

    def put(self, doc_id: str, old: Doc | None, doc: Doc) -> None:
        self.docs[doc_id] = doc
        self.on_day.setdefault(str(doc.get("day")), {})[doc_id] = doc
        before, after = (old or {}).get("last") or {}, doc.get("last") or {}
        raised = all(_at_least(after.get(name), at) for name, at in before.items())
        if self.doc is None or not raised:
            self.doc = None
            return
        last = dict(self.doc["last"])
        for name, at in after.items():
            if isinstance(at, datetime) and (name not in last or at > last[name]):
                last[name] = at
        self.doc = {**self.doc, "last": last}

    def document(self) -> Doc:
        if self.doc is None:
            last: dict[str, datetime] = {}
            for doc in self.docs.values():
                for name, at in (doc.get("last") or {}).items():
                    if isinstance(at, datetime) and (name not in last or at > last[name]):
                        last[name] = at
            meta = {"_id": "sum|models", "kind": "models", "day": None, "department": None}
            self.doc = {**meta, "last": last}
        return self.doc


def _holds_open(doc: Doc) -> bool:
    status = doc.get("status") or {}
    return bool(sum(status.get(s, 0) for s in OPEN_STATUSES))


class CounterView:
    """Counter documents with their sums kept up to date as documents are put (not changed
    in place: a changed document is put again, as a new object)."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self._days: list[str] = []  # sorted
        self._on_day: dict[str, dict[str, Doc]] = {}
        self._by_department = _Sums("department")
        self._by_day = _Sums("day")
        self._open: dict[str, Doc] = {}
        self._lasts = _Lasts()

    @classmethod
    def of(cls, docs: Iterable[Doc]) -> CounterView:
        view = cls()
        for doc in docs:
            view.put(doc)
        return view

    def put(self, doc: Doc) -> None:
        doc_id = str(doc["_id"])
        old = self.docs.get(doc_id)
        if old == doc:
            return
        self.docs[doc_id] = doc
        day, kind = str(doc.get("day")), doc.get("kind")
        on_day = self._on_day.get(day)
        if on_day is None:
            on_day = self._on_day[day] = {}
            bisect.insort(self._days, day)
        on_day[doc_id] = doc
        if kind in _SUMMED_KINDS:
            for sums in (self._by_department, self._by_day):
                if old is not None:
                    sums.add(old, -1)
                sums.add(doc, 1)
        if kind == "state":
            if _holds_open(doc):
                self._open[doc_id] = doc
            else:
                self._open.pop(doc_id, None)
        elif kind == "models":
            self._lasts.put(doc_id, old, doc)

    def _days_of(self, q: StatsQuery) -> list[str]:
        low = bisect.bisect_left(self._days, q.day_from.isoformat()) if q.day_from else 0
        high = bisect.bisect_right(self._days, q.day_to.isoformat()) if q.day_to else None
        return self._days[low:high]

    def _stored(self, q: StatsQuery) -> Iterator[Doc]:
        for day in self._days_of(q):
            yield from self._on_day[day].values()

    def select(self, q: StatsQuery) -> Parts:
        """The documents of the range as stored; state and flow of the department if one is
        asked (dead letters and models belong to none)."""
        out: Parts = {k: [] for k in KINDS}
        for doc in self._stored(q):
            kind = doc.get("kind")
            if kind not in out:
                continue
            if q.department and kind in ("state", "flow") and doc.get("department") != q.department:
                continue
            out[str(kind)].append(doc)
        return out

    def parts(self, q: StatsQuery, grain: Grain) -> Parts:
        """What the figures of ``q`` read, merged as ``grain`` allows: the same figures as from
        ``select(q)``, at a cost that does not grow with the history."""
        ranged = q.day_from is not None or q.day_to is not None
        if grain == "open":
            state = [
                doc
                for doc in self._open.values()
                if (not q.department or doc.get("department") == q.department)
                and (q.day_from is None or doc["day"] >= q.day_from.isoformat())
                and (q.day_to is None or doc["day"] <= q.day_to.isoformat())
            ]
            return {"state": state, "flow": [], "dead": [], "models": []}
        if grain == "department" and not ranged:
            mine = None if not q.department else [q.department]
            sums = self._by_department
            return {
                "state": sums.documents("state", mine),
                "flow": sums.documents("flow", mine),
                "dead": sums.documents("dead"),
                "models": [self._lasts.document()] if self._lasts.docs else [],
            }
        if grain == "day" and not q.department:
            days = self._days_of(q)
            models = self._lasts.on_day
            return {
                "state": self._by_day.documents("state", days),
                "flow": self._by_day.documents("flow", days),
                "dead": self._by_day.documents("dead", days),
                "models": [d for day in days for d in models.get(day, {}).values()],
            }
        return self.select(q)


class CounterCache:
    """The counter documents in memory: a statistics request reads no more from the database
    than what changed in the last second, whatever the history and the range."""

    def __init__(self, collection: AsyncCollection[Doc], *, generation: str) -> None:
        self.collection = collection
        self.generation_id = generation
        self.view = CounterView()
        self.since: datetime | None = None
        self.generation: object = None
        self.checked = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self) -> CounterView:
        """The copy, at most REFRESH_S old."""
        if time.monotonic() - self.checked >= REFRESH_S:
            async with self._lock:
                if time.monotonic() - self.checked >= REFRESH_S:
                    await self._refresh()
        return self.view

    async def read(self) -> list[Doc]:
        """Every counter document (without ``ops``), at most REFRESH_S old."""
        return list((await self.current()).docs.values())

    async def _refresh(self) -> None:
        started = time.monotonic()
        # The server's clock, which stamped updated_at: the next look starts from here.
        hello = await self.collection.database.client.admin.command("hello")
        server_now = hello.get("localTime")
        if not isinstance(server_now, datetime):
            server_now = datetime.now(UTC)
        elif server_now.tzinfo is None:
            server_now = server_now.replace(tzinfo=UTC)
        query: Doc = {} if self.since is None else {"updated_at": {"$gte": self.since - _OVERLAP}}
        rows = await self.collection.find(query, projection={"ops": 0}).to_list()
        generation = next((r.get("value") for r in rows if r["_id"] == self.generation_id), None)
        if self.since is not None and generation is not None and generation != self.generation:
            # Rebuilt: documents may have gone; start again from nothing.
            self.view, self.since, self.generation = CounterView(), None, generation
            await self._refresh()
            return
        if generation is not None:
            self.generation = generation
        for row in rows:
            if row["_id"] != self.generation_id:
                self.view.put(row)
        self.since = server_now
        self.checked = started


def select(docs: list[Doc], pipeline: list[Doc]) -> list[Doc] | None:
    """The documents a statistics pipeline (one ``$match`` on kind, day range and department)
    selects, in one pass; None for any other pipeline (run it with the general evaluator)."""
    if len(pipeline) != 1 or set(pipeline[0]) != {"$match"}:
        return None
    spec = pipeline[0]["$match"]
    if not set(spec) <= {"kind", "day", "department"} or set(spec.get("kind", {})) != {"$in"}:
        return None
    days = spec.get("day", {})
    if not isinstance(days, dict) or not set(days) <= {"$gte", "$lte"}:
        return None
    kinds = frozenset(spec["kind"]["$in"])
    low, high = days.get("$gte"), days.get("$lte")
    department = spec.get("department")
    narrow = "department" in spec
    return [
        d
        for d in docs
        if d.get("kind") in kinds
        and (low is None or d["day"] >= low)
        and (high is None or d["day"] <= high)
        and (not narrow or d.get("department") == department)
    ]
