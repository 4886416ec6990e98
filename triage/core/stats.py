"""Statistics on how tickets were handled: the query (day range, department) and the shaping
of grouped rows into the figures the supervisors read. Pure. The rows come from the daily
counters kept at write time (``triage.core.counter_stats``), never from the tickets and
events themselves.

Two clocks, on purpose: ticket figures (volumes, backlog, auto-route rate, accuracy) count
tickets *received* in the day range; event figures (accepts, returns, resolves, hours) count
what *happened* in the day range, since a ticket received last month may be resolved today.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from triage.core.errors import TriageError

__all__ = [
    "BACKLOG_STATUSES",
    "EVENT_TYPES",
    "FINAL_STATUSES",
    "LOCAL_TZ",
    "MAX_RANGE_DAYS",
    "STATUSES",
    "StatsQuery",
    "StatsQueryError",
    "percentile",
    "reason_kind",
    "shape_accuracy",
    "shape_daily",
    "shape_departments",
    "shape_summary",
]

Doc = dict[str, Any]
Pipeline = list[Doc]

LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
STATUSES = ("review", "routed", "accepted", "returned", "resolved", "reassigned")
EVENT_TYPES = ("accept", "return", "resolve", "reassign")
# Waiting for a hotline agent: never routed, or sent back by a department.
BACKLOG_STATUSES = ("review", "returned")
# A department took the ticket as its own: the routing is settled.
FINAL_STATUSES = ("accepted", "resolved")
MAX_RANGE_DAYS = 366
TOP_REASONS = 5


class StatsQueryError(TriageError, ValueError):
    """A statistics filter is unusable; ``field`` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """The filter every figure shares: local days ``day_from``..``day_to`` (both included)."""

    day_from: date | None = None
    day_to: date | None = None
    department: str | None = None

    def __post_init__(self) -> None:
        if self.day_from and self.day_to:
            if self.day_from > self.day_to:
                raise StatsQueryError("from", f"{self.day_from} is after to={self.day_to}")
            if (self.day_to - self.day_from).days >= MAX_RANGE_DAYS:
                raise StatsQueryError("to", f"the range may span at most {MAX_RANGE_DAYS} days")

    def to_json(self) -> Doc:
        return {
            "from": self.day_from.isoformat() if self.day_from else None,
            "to": self.day_to.isoformat() if self.day_to else None,
            "department": self.department,
        }

    def ticket_match(self) -> Doc:
        """Tickets received in the range (``received_day`` is an ISO string: it sorts as dates)."""
        match: Doc = {}
        days: Doc = {}
        if self.day_from:
            days["$gte"] = self.day_from.isoformat()
        if self.day_to:
            days["$lte"] = self.day_to.isoformat()
        if days:
            match["received_day"] = days
        if self.department:
            match["department"] = self.department
        return match

    def time_match(self, field: str = "at") -> Doc:
        """Instants from local midnight of ``day_from`` to the midnight ending ``day_to``."""
        bounds: Doc = {}
        if self.day_from:
            bounds["$gte"] = _local_midnight(self.day_from)
        if self.day_to:
            bounds["$lt"] = _local_midnight(self.day_to + timedelta(days=1))
        return {field: bounds} if bounds else {}

    def event_match(self, types: Sequence[str]) -> Doc:
        match: Doc = {"type": {"$in": list(types)}, **self.time_match("at")}
        if self.department:
            match["department"] = self.department
        return match


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def reason_kind(reason: str) -> str:
    """A dead-letter reason without its details (positions, lengths, paths): a short set."""
    head = reason.split(":", 1)[0].split(" - ", 1)[0].strip()
    return head or "unknown"


# --- shaping --------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rows(counter: Mapping[Any, int]) -> list[Doc]:
    """``[{key, count}]``, largest first; a key may be null (a reviewed ticket's department)."""
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], "" if kv[0] is None else str(kv[0])))
    return [{"key": k, "count": n} for k, n in ordered]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _hours(values: Sequence[float]) -> Doc:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    median, p90 = percentile(values, 0.5), percentile(values, 0.9)
    return {"n": len(values), "median": r(median), "p90": r(p90)}


def _event_counts(rows: Iterable[Doc]) -> dict[str, Counter[str | None]]:
    counts: dict[str, Counter[str | None]] = {t: Counter() for t in EVENT_TYPES}
    for row in rows:
        key = row["_id"]
        if key.get("type") in counts:
            counts[key["type"]][key.get("department")] += row["n"]
    return counts


def _top_reasons(counter: Counter[str]) -> list[Doc]:
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
    return [{"reason": reason, "count": n} for reason, n in ordered]


def _deadletters(rows: Iterable[Doc]) -> tuple[Counter[str], Counter[str]]:
    by_kind: Counter[str] = Counter()
    by_day: Counter[str] = Counter()
    for row in rows:
        key = row["_id"] if isinstance(row["_id"], dict) else {}
        by_kind[key.get("kind") or "unknown"] += row["n"]
        if key.get("day"):
            by_day[key["day"]] += row["n"]
    return by_kind, by_day


def shape_summary(
    q: StatsQuery,
    *,
    tickets: Iterable[Doc],
    events: Iterable[Doc],
    reasons: Iterable[Doc],
    deadletters: Iterable[Doc],
    models: Iterable[Doc],
    active_model: str | None,
) -> Doc:
    """The supervisor's headline figures from the results of the summary pipelines."""
    dims: dict[str, Counter[Any]] = {
        d: Counter() for d in ("status", "channel", "district", "label", "department")
    }
    total = auto = 0
    for row in tickets:
        key, n = row["_id"], row["n"]
        total += n
        if key.get("auto") is True:
            auto += n
        for dim, counter in dims.items():
            counter[key.get(dim)] += n
    by_status = {s: dims["status"].get(s, 0) for s in STATUSES}
    backlog = {s: by_status[s] for s in BACKLOG_STATUSES}
    counts = _event_counts(events)
    accepts, returns = counts["accept"].total(), counts["return"].total()
    reason_counts: Counter[str] = Counter()
    for row in reasons:
        reason_counts[row["_id"].get("reason") or ""] += row["n"]
    dead_by_kind, _ = _deadletters(deadletters)
    model_rows = [
        {"version": r["_id"], "decisions": r["n"], "last_at": _iso(r.get("last_at"))}
        for r in sorted(models, key=lambda r: (-r["n"], str(r["_id"])))
    ]
    return {
        "range": q.to_json(),
        "tickets": total,
        "auto_routed": auto,
        "auto_route_rate": _rate(auto, total),
        "backlog": {**backlog, "total": sum(backlog.values())},
        "by_status": by_status,
        "by_channel": _rows(dims["channel"]),
        "by_district": _rows(dims["district"]),
        "by_label": _rows(dims["label"]),
        "by_department": _rows(dims["department"]),
        "events": {t: counts[t].total() for t in EVENT_TYPES},
        "return_rate": _rate(returns, accepts + returns),
        "top_return_reasons": _top_reasons(reason_counts),
        "deadletters": {"total": dead_by_kind.total(), "by_reason": _rows(dead_by_kind)},
        "models": model_rows,
        "active_model": active_model,
    }


def _iso(value: object) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return None


def shape_daily(q: StatsQuery, *, tickets: Iterable[Doc], deadletters: Iterable[Doc]) -> Doc:
    """One row per local day, days without tickets included, oldest first."""
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for row in tickets:
        key = row["_id"]
        day = key.get("day")
        if not day:
            continue
        per_day[day]["tickets"] += row["n"]
        per_day[day]["auto_routed" if key.get("auto") is True else "review"] += row["n"]
    _, dead_by_day = _deadletters(deadletters)
    for day, n in dead_by_day.items():
        per_day[day]["deadletters"] += n
    known = sorted(per_day)
    first = q.day_from or (date.fromisoformat(known[0]) if known else None)
    last = q.day_to or (date.fromisoformat(known[-1]) if known else None)
    days: list[Doc] = []
    if first and last:
        day = first
        while day <= last and len(days) < MAX_RANGE_DAYS:
            c = per_day.get(day.isoformat(), Counter())
            days.append(
                {
                    "day": day.isoformat(),
                    "tickets": c["tickets"],
                    "auto_routed": c["auto_routed"],
                    "review": c["review"],
                    "deadletters": c["deadletters"],
                }
            )
            day += timedelta(days=1)
    return {"range": q.to_json(), "days": days}


def shape_departments(
    q: StatsQuery,
    *,
    tickets: Iterable[Doc],
    events: Iterable[Doc],
    reasons: Iterable[Doc],
    hours: Mapping[str, Mapping[str | None, Sequence[float]]],
    names: Mapping[str, str],
) -> Doc:
    """Per department: tickets it holds, what it accepted, returned, resolved, and how fast."""
    holding: Counter[str | None] = Counter()
    for row in tickets:
        holding[row["_id"].get("department")] += row["n"]
    counts = _event_counts(events)
    reason_counts: dict[str | None, Counter[str]] = defaultdict(Counter)
    for row in reasons:
        reason_counts[row["_id"].get("department")][row["_id"].get("reason") or ""] += row["n"]
    codes = {c for c in holding if c} | {c for t in counts.values() for c in t if c}
    if q.department:
        codes &= {q.department}
    rows: list[Doc] = []
    for code in sorted(codes, key=lambda c: (-holding[c], c)):
        accepted, returned = counts["accept"][code], counts["return"][code]
        rows.append(
            {
                "department": code,
                "name": names.get(code),
                "tickets": holding[code],
                "accepted": accepted,
                "returned": returned,
                "resolved": counts["resolve"][code],
                "reassigned_to": counts["reassign"][code],
                "return_rate": _rate(returned, accepted + returned),
                "hours_to_accept": _hours(hours.get("accept", {}).get(code, [])),
                "hours_to_resolve": _hours(hours.get("resolve", {}).get(code, [])),
                "top_return_reasons": _top_reasons(reason_counts[code]),
            }
        )
    return {"range": q.to_json(), "departments": rows}


def _score(tickets: int, correct: int) -> Doc:
    return {"tickets": tickets, "correct": correct, "accuracy": _rate(correct, tickets)}


def shape_accuracy(q: StatsQuery, rows: Iterable[Doc]) -> Doc:
    """Share of settled tickets whose first routed department is the one that kept them."""
    total: Counter[str] = Counter()
    how: dict[str, Counter[str]] = {"auto_routed": Counter(), "reviewed": Counter()}
    by_dept: dict[str, Counter[str]] = defaultdict(Counter)
    by_model: dict[str, Counter[str]] = defaultdict(Counter)
    unknown = 0
    for row in rows:
        key, n = row["_id"], row["n"]
        first, final = key.get("first"), key.get("final")
        if not first or not final:
            # Stored before first routings were recorded, or settled without a department.
            unknown += n
            continue
        hit = n if first == final else 0
        for counter in (
            total,
            how["auto_routed" if key.get("auto") is True else "reviewed"],
            by_dept[final],
            by_model[str(key.get("model"))],
        ):
            counter["tickets"] += n
            counter["correct"] += hit
    return {
        "range": q.to_json(),
        **_score(total["tickets"], total["correct"]),
        "auto_routed": _score(how["auto_routed"]["tickets"], how["auto_routed"]["correct"]),
        "reviewed": _score(how["reviewed"]["tickets"], how["reviewed"]["correct"]),
        "by_department": [
            {"department": d, **_score(c["tickets"], c["correct"])}
            for d, c in sorted(by_dept.items(), key=lambda kv: (-kv[1]["tickets"], kv[0]))
        ],
        "by_model": [
            {"model_version": m, **_score(c["tickets"], c["correct"])}
            for m, c in sorted(by_model.items())
        ],
        "unknown": unknown,
    }
