"""Figures supervisors and trainers asked for, from the daily counters: backlog ageing, overdue
tickets against statutory deadlines in working hours, and the most frequent wrong routings.

Ages count whole local days since receipt. A ticket waits to be accepted while routed or
reassigned, and to be resolved while accepted; it is overdue when its department's deadline
(triage.core.deadlines: the registry's hours for that department, else the default), counted
from the hour it reached the department, has passed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from triage.core.counter_stats import settled_rows
from triage.core.counters import LOCAL_TZ, OPEN_STATUSES
from triage.core.deadlines import (
    Deadlines,
    add_working_hours,
    calendar_version,
    overdue_before,
)
from triage.core.hotspots.titles import ticket_title
from triage.core.stats import StatsQuery

__all__ = ["AGE_BUCKETS", "age_bucket", "backlog", "queue", "routings"]

Doc = dict[str, Any]
# (label, first age in days it holds)
AGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("0-1d", 0),
    ("1-3d", 1),
    ("3-7d", 3),
    ("7-30d", 7),
    ("30d+", 30),
)
TOP_ROUTINGS = 20


def age_bucket(received_day: str, today: date) -> str:
    age = (today - date.fromisoformat(received_day)).days
    label = AGE_BUCKETS[0][0]
    for name, first in AGE_BUCKETS:
        if age >= first:
            label = name
    return label


def _overdue(hours: Mapping[str, int], limit: float, now: datetime) -> int:
    """Tickets of the hours past the deadline. Being overdue is monotone in the start hour,
    and hour keys sort as times: a binary search finds the last late hour."""
    keys = sorted(h for h, n in hours.items() if n)
    low, high = 0, len(keys)  # keys[:low] are late, keys[high:] are not
    while low < high:
        mid = (low + high) // 2
        if overdue_before(keys[mid], limit, now):
            low = mid + 1
        else:
            high = mid
    return sum(hours[h] for h in keys[:low])


def backlog(
    q: StatsQuery,
    parts: Mapping[str, list[Doc]],
    names: Mapping[str, str],
    deadlines: Callable[[str | None], Deadlines],
    now: datetime,
) -> Doc:
    """Open tickets by age and by department, with those past their deadlines."""
    today = now.astimezone(LOCAL_TZ).date()
    ages: Counter[str] = Counter()
    per: dict[str | None, Counter[str]] = defaultdict(Counter)
    waiting: dict[str | None, dict[str, Counter[str]]] = defaultdict(
        lambda: {"acc_open": Counter(), "res_open": Counter()}
    )
    for doc in parts["state"]:
        status = doc.get("status") or {}
        open_n = sum(status.get(s, 0) for s in OPEN_STATUSES)
        if not open_n:
            continue
        department = doc.get("department")
        bucket = age_bucket(doc["day"], today)
        ages[bucket] += open_n
        per[department][bucket] += open_n
        per[department]["open"] += open_n
        for s in OPEN_STATUSES:
            per[department][s] += status.get(s, 0)
        for name in ("acc_open", "res_open"):
            for hour, n in (doc.get(name) or {}).items():
                waiting[department][name][hour] += n
    rows: list[Doc] = []
    for department, counts in sorted(per.items(), key=lambda kv: (-kv[1]["open"], str(kv[0]))):
        limits = deadlines(department)
        hours = waiting[department]
        rows.append(
            {
                "department": department,
                "name": names.get(department or ""),
                "open": counts["open"],
                "by_status": {s: counts[s] for s in OPEN_STATUSES},
                "ages": {name: counts[name] for name, _ in AGE_BUCKETS},
                "waiting_accept": sum(hours["acc_open"].values()),
                "waiting_resolve": sum(hours["res_open"].values()),
                "overdue_accept": _overdue(hours["acc_open"], limits.accept_hours, now),
                "overdue_resolve": _overdue(hours["res_open"], limits.resolve_hours, now),
                "accept_hours": limits.accept_hours,
                "resolve_hours": limits.resolve_hours,
            }
        )
    return {
        "range": q.to_json(),
        "now": now.astimezone(LOCAL_TZ).isoformat(),
        "calendar": calendar_version(),
        # The filtered department's deadlines, else the default (each row has its own).
        "deadlines": deadlines(q.department).to_json(),
        "open": sum(ages.values()),
        "ages": [{"key": name, "count": ages[name]} for name, _ in AGE_BUCKETS],
        "overdue_accept": sum(r["overdue_accept"] for r in rows),
        "overdue_resolve": sum(r["overdue_resolve"] for r in rows),
        "departments": rows,
    }


def routings(q: StatsQuery, parts: Mapping[str, list[Doc]], names: Mapping[str, str]) -> Doc:
    """Settled tickets first routed to one department and kept by another, most frequent first."""
    pairs: Counter[tuple[str, str]] = Counter()
    settled = 0
    for row in settled_rows(parts["state"]):
        key, n = row["_id"], row["n"]
        settled += n
        first, final = key.get("first"), key.get("final")
        if first and final and first != final:
            pairs[(first, final)] += n
    ordered: Sequence[tuple[tuple[str, str], int]] = sorted(
        pairs.items(), key=lambda kv: (-kv[1], kv[0])
    )[:TOP_ROUTINGS]
    return {
        "range": q.to_json(),
        "settled": settled,
        "wrong": pairs.total(),
        "routings": [
            {
                "routed_to": a,
                "routed_to_name": names.get(a),
                "settled_at": b,
                "settled_at_name": names.get(b),
                "count": n,
            }
            for (a, b), n in ordered
        ],
    }


def queue(
    q: StatsQuery,
    docs: Sequence[Mapping[str, Any]],
    deadlines: Callable[[str | None], Deadlines],
    now: datetime,
) -> Doc:
    """A department's open tickets, oldest clock first, each with its age and its department's
    deadline."""
    rows: list[Doc] = []
    for doc in docs:
        received = doc.get("received_at")
        started = doc.get("reassigned_at") or received
        if not isinstance(started, datetime) or not isinstance(received, datetime):
            continue
        limits = deadlines(doc.get("department") or q.department)
        waiting = "resolve" if doc.get("status") == "accepted" else "accept"
        hours = limits.resolve_hours if waiting == "resolve" else limits.accept_hours
        due = add_working_hours(started, hours)
        rows.append(
            {
                "ticket_id": doc["_id"],
                "status": doc.get("status"),
                "title": ticket_title(doc.get("title"), doc.get("body")),
                "channel": doc.get("channel"),
                "received_at": received.astimezone(LOCAL_TZ).isoformat(),
                "age_hours": round((now - received).total_seconds() / 3600, 1),
                "waiting_for": waiting,
                "due": due.isoformat(),
                "overdue": due <= now,
            }
        )
    rows.sort(key=lambda r: (r["due"], r["ticket_id"]))
    return {
        "range": q.to_json(),
        "department": q.department,
        "now": now.astimezone(LOCAL_TZ).isoformat(),
        "deadlines": deadlines(q.department).to_json(),
        "overdue": sum(1 for r in rows if r["overdue"]),
        "tickets": rows,
    }
