"""The statistics read from the daily counters (triage.core.counters) instead of from every
ticket and event.

Each figure takes the counter documents of its range (``department_pipeline`` and
``global_pipeline`` select them) or the same documents merged: summed over days within a
department, or over departments within a day, when the figure reads no day or no department
(the store keeps those sums up to date, so a request without a range does not cost what the
history holds). The figures are the same either way, whatever the order of the documents.

The figures and their shapes are those of triage.core.stats (the same shaping is reused where
it fits); hours to accept and resolve are percentiles of fixed hour buckets, interpolated
inside the bucket, so they are approximate to within a bucket.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from triage.core import stats
from triage.core.counters import bucket_percentile, sum_fields, total, unkey
from triage.core.stats import StatsQuery

__all__ = [
    "accuracy",
    "daily",
    "department_pipeline",
    "departments",
    "global_pipeline",
    "settled_pairs",
    "settled_rows",
    "split",
    "summary",
]

Doc = dict[str, Any]
Pipeline = list[Doc]
_EVENTS = {"accept": "accepted", "return": "returned", "resolve": "resolved"}


def _days(q: StatsQuery) -> Doc:
    days: Doc = {}
    if q.day_from:
        days["$gte"] = q.day_from.isoformat()
    if q.day_to:
        days["$lte"] = q.day_to.isoformat()
    return {"day": days} if days else {}


def department_pipeline(q: StatsQuery, kinds: Sequence[str] = ("state", "flow")) -> Pipeline:
    """State and flow counters of the range, narrowed to one department if asked."""
    match: Doc = {"kind": {"$in": list(kinds)}, **_days(q)}
    if q.department:
        match["department"] = q.department
    return [{"$match": match}]


def global_pipeline(q: StatsQuery) -> Pipeline:
    """Dead-letter and last-decision counters of the range (they belong to no department)."""
    match: Doc = {"kind": {"$in": ["dead", "models"]}, **_days(q)}
    return [{"$match": match}]


def split(docs: Iterable[Doc]) -> dict[str, list[Doc]]:
    out: dict[str, list[Doc]] = {"state": [], "flow": [], "dead": [], "models": []}
    for doc in docs:
        out.setdefault(str(doc.get("kind")), []).append(doc)
    return out


def _rows(counter: Mapping[Any, int]) -> list[Doc]:
    items = [(k, n) for k, n in counter.items() if n]
    # None (no value) before "": the order never depends on the order of the documents.
    ordered = sorted(
        items, key=lambda kv: (-kv[1], "" if kv[0] is None else str(kv[0]), kv[0] is not None)
    )
    return [{"key": k, "count": n} for k, n in ordered]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _total(docs: Iterable[Doc], name: str) -> int:
    return sum(int(d.get(name) or 0) for d in docs)


def _reasons(flow: Sequence[Doc]) -> list[Doc]:
    counts: Counter[str] = Counter()
    for k, n in sum_fields(flow, "reason").items():
        if n:
            counts[k or ""] += n
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: stats.TOP_REASONS]
    return [{"reason": reason, "count": n} for reason, n in ordered]


def _iso(value: object) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return None


def summary(q: StatsQuery, parts: Mapping[str, list[Doc]], active_model: str | None) -> Doc:
    """The supervisor's headline figures (the shape of ``stats.shape_summary``)."""
    state, flow = parts["state"], parts["flow"]
    status = sum_fields(state, "status")
    tickets = sum(status.values())
    auto = sum_fields(state, "auto").get("true", 0)
    by_status = {s: status.get(s, 0) for s in stats.STATUSES}
    backlog = {s: by_status[s] for s in stats.BACKLOG_STATUSES}
    holding: Counter[str | None] = Counter()
    for doc in state:
        holding[doc.get("department")] += total(doc)
    events = {t: _total(flow, _EVENTS.get(t, "reassigned_to")) for t in stats.EVENT_TYPES}
    accepts, returns = events["accept"], events["return"]
    dead = sum_fields(parts["dead"], "reason")
    decisions = sum_fields(state, "model")
    last: dict[str | None, datetime] = {}
    for doc in parts["models"]:
        for name, at in (doc.get("last") or {}).items():
            version = unkey(name)
            if isinstance(at, datetime) and (version not in last or at > last[version]):
                last[version] = at
    models = [
        {"version": v, "decisions": n, "last_at": _iso(last.get(v))}
        for v, n in sorted(
            decisions.items(), key=lambda kv: (-kv[1], str(kv[0]), kv[0] is not None)
        )
        if n
    ]
    return {
        "range": q.to_json(),
        "tickets": tickets,
        "auto_routed": auto,
        "auto_route_rate": _rate(auto, tickets),
        "backlog": {**backlog, "total": sum(backlog.values())},
        "by_status": by_status,
        "by_channel": _rows(sum_fields(state, "channel")),
        "by_district": _rows(sum_fields(state, "district")),
        "by_label": _rows(sum_fields(state, "label")),
        "by_department": _rows(holding),
        "events": events,
        "return_rate": _rate(returns, accepts + returns),
        "top_return_reasons": _reasons(flow),
        "deadletters": {"total": sum(dead.values()), "by_reason": _rows(dead)},
        "models": models,
        "active_model": active_model,
    }


def daily(q: StatsQuery, parts: Mapping[str, list[Doc]]) -> Doc:
    """One row per local day (the shape of ``stats.shape_daily``)."""
    rows: list[Doc] = []
    for doc in parts["state"]:
        tickets = total(doc)
        auto = (doc.get("auto") or {}).get("true", 0)
        rows.append({"_id": {"day": doc["day"], "auto": True}, "n": auto})
        rows.append({"_id": {"day": doc["day"], "auto": False}, "n": tickets - auto})
    dead = [
        {"_id": {"kind": kind, "day": doc["day"]}, "n": n}
        for doc in parts["dead"]
        for kind, n in sum_fields([doc], "reason").items()
    ]
    return stats.shape_daily(q, tickets=[r for r in rows if r["n"]], deadletters=dead)


def _hours(raw: Mapping[str, int]) -> Doc:
    counts = {int(index): n for index, n in raw.items()}

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "n": sum(counts.values()),
        "median": r(bucket_percentile(counts, 0.5)),
        "p90": r(bucket_percentile(counts, 0.9)),
    }


def _add_all(into: dict[str, int], counts: Mapping[str, int] | None) -> None:
    for key, n in (counts or {}).items():
        into[key] = into.get(key, 0) + n


def departments(q: StatsQuery, parts: Mapping[str, list[Doc]], names: Mapping[str, str]) -> Doc:
    """Per department (the shape of ``stats.shape_departments``); days are summed per
    department first, then shaped."""
    holding: dict[str | None, int] = {}
    for doc in parts["state"]:
        department = doc.get("department")
        holding[department] = holding.get(department, 0) + total(doc)
    events: dict[tuple[str, str | None], int] = {}
    reasons: dict[str | None, dict[str, int]] = defaultdict(dict)
    accept_h: dict[str | None, dict[str, int]] = defaultdict(dict)
    resolve_h: dict[str | None, dict[str, int]] = defaultdict(dict)
    for doc in parts["flow"]:
        department = doc.get("department")
        for kind in stats.EVENT_TYPES:
            n = doc.get(_EVENTS.get(kind, "reassigned_to")) or 0
            if n:
                events[(kind, department)] = events.get((kind, department), 0) + n
        _add_all(reasons[department], doc.get("reason"))
        _add_all(accept_h[department], doc.get("accept_h"))
        _add_all(resolve_h[department], doc.get("resolve_h"))
    shaped = stats.shape_departments(
        q,
        tickets=[{"_id": {"department": d}, "n": n} for d, n in holding.items() if n],
        events=[{"_id": {"type": t, "department": d}, "n": n} for (t, d), n in events.items()],
        reasons=[
            {"_id": {"department": d, "reason": unkey(reason)}, "n": n}
            for d, counts in reasons.items()
            for reason, n in counts.items()
        ],
        hours={},
        names=names,
    )
    for row in shaped["departments"]:
        row["hours_to_accept"] = _hours(accept_h.get(row["department"], {}))
        row["hours_to_resolve"] = _hours(resolve_h.get(row["department"], {}))
    return shaped


@lru_cache(maxsize=65536)
def _settled(name: str) -> tuple[str | None, bool, str | None]:
    """A ``settled`` count's name as (first department, auto-routed, model version)."""
    first, auto, model = name.split("~")
    return unkey(first), auto == "true", unkey(model)


def settled_rows(state: Iterable[Doc]) -> list[Doc]:
    """Settled tickets as ``{_id: {first, final, auto, model}, n}`` rows, one per distinct
    key (summed over days first: a range holds thousands of documents, few distinct keys)."""
    raw: dict[tuple[str | None, str], int] = {}
    for doc in state:
        settled = doc.get("settled")
        if settled:
            department = doc.get("department")
            for name, n in settled.items():
                raw[(department, name)] = raw.get((department, name), 0) + n
    rows: list[Doc] = []
    for (department, name), n in raw.items():
        first, auto, model = _settled(name)
        ids = {"first": first, "final": department, "auto": auto, "model": model}
        rows.append({"_id": ids, "n": n})
    return rows


@lru_cache(maxsize=65536)
def _first_only(name: str) -> str:
    return f"{name.partition('~')[0]}~false~-"


def settled_pairs(state: Iterable[Doc]) -> list[Doc]:
    """State documents holding only their settled tickets summed over how they were routed
    and by which model, one per department: all that the wrong routings read
    (``backlog_stats.routings``), in a fraction of the entries."""
    pairs: dict[str | None, dict[str, int]] = {}
    for doc in state:
        settled = doc.get("settled")
        if settled:
            mine = pairs.setdefault(doc.get("department"), {})
            for name, n in settled.items():
                first = _first_only(name)
                mine[first] = mine.get(first, 0) + n
    return [
        {"kind": "state", "department": department, "settled": settled}
        for department, settled in pairs.items()
    ]


def _score(tickets: int, correct: int) -> Doc:
    return {"tickets": tickets, "correct": correct, "accuracy": _rate(correct, tickets)}


def accuracy(q: StatsQuery, parts: Mapping[str, list[Doc]]) -> Doc:
    """First-routing accuracy (``stats.shape_accuracy`` of ``settled_rows``): the settled
    counts are first summed by what the figure tells apart (department that kept the ticket,
    whether it was the first, how it was routed, model), a few hundred keys."""
    classes: dict[tuple[str, bool, bool, str], int] = {}
    unknown = 0
    for doc in parts["state"]:
        settled = doc.get("settled")
        final = doc.get("department")
        if not settled:
            continue
        for name, n in settled.items():
            first, auto, model = _settled(name)
            if not first or not final:
                # Stored before first routings were recorded, or settled without a department.
                unknown += n
                continue
            key = (final, first == final, auto, str(model))
            classes[key] = classes.get(key, 0) + n
    total_ = [0, 0]
    how = {True: [0, 0], False: [0, 0]}
    by_dept: dict[str, list[int]] = {}
    by_model: dict[str, list[int]] = {}
    for (final, hit, auto, model), n in classes.items():
        for score in (
            total_,
            how[auto],
            by_dept.setdefault(final, [0, 0]),
            by_model.setdefault(model, [0, 0]),
        ):
            score[0] += n
            score[1] += n if hit else 0
    return {
        "range": q.to_json(),
        **_score(*total_),
        "auto_routed": _score(*how[True]),
        "reviewed": _score(*how[False]),
        "by_department": [
            {"department": d, **_score(*score)}
            for d, score in sorted(by_dept.items(), key=lambda kv: (-kv[1][0], kv[0]))
        ],
        "by_model": [
            {"model_version": m, **_score(*score)} for m, score in sorted(by_model.items())
        ],
        "unknown": unknown,
    }
