"""The statistics computed straight from tickets and events: aggregation pipelines with
portable stages only, run by the in-memory evaluator. The unit tests feed their rows to the
shaping functions as a reference for what each figure means; the service reads the daily
counters instead, which cost nothing as history grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from triage.core.stats import EVENT_TYPES, FINAL_STATUSES, StatsQuery

Doc = dict[str, Any]
Pipeline = list[Doc]

PORTABLE_STAGES = frozenset({"$match", "$group", "$sort", "$project", "$unwind", "$count"})
PORTABLE_ACCUMULATORS = frozenset({"$sum", "$min", "$max", "$first"})


def summary_pipeline(q: StatsQuery) -> Pipeline:
    """Ticket counts by every dimension at once; the marginals are summed in Python."""
    key = {
        "status": "$status",
        "channel": "$channel",
        "district": "$district",
        "label": "$label",
        "department": "$department",
        "auto": "$auto_routed",
    }
    return [{"$match": q.ticket_match()}, {"$group": {"_id": key, "n": {"$sum": 1}}}]


def daily_pipeline(q: StatsQuery) -> Pipeline:
    return [
        {"$match": q.ticket_match()},
        {"$group": {"_id": {"day": "$received_day", "auto": "$auto_routed"}, "n": {"$sum": 1}}},
    ]


def model_pipeline(q: StatsQuery) -> Pipeline:
    """Decisions per model version, with the last time each version decided."""
    return [
        {"$match": q.ticket_match()},
        {"$unwind": "$decisions"},
        {
            "$group": {
                "_id": "$decisions.model_version",
                "n": {"$sum": 1},
                "last_at": {"$max": "$decisions.at"},
            }
        },
    ]


def deadletter_pipeline(q: StatsQuery) -> Pipeline:
    """Dead letters by reason kind and local day; they belong to no department."""
    return [
        {"$match": q.time_match("at")},
        {"$group": {"_id": {"kind": "$reason_kind", "day": "$day"}, "n": {"$sum": 1}}},
    ]


def event_count_pipeline(q: StatsQuery) -> Pipeline:
    return [
        {"$match": q.event_match(EVENT_TYPES)},
        {"$group": {"_id": {"type": "$type", "department": "$department"}, "n": {"$sum": 1}}},
    ]


def return_reason_pipeline(q: StatsQuery) -> Pipeline:
    return [
        {"$match": q.event_match(["return"])},
        {"$group": {"_id": {"department": "$department", "reason": "$reason"}, "n": {"$sum": 1}}},
    ]


def first_event_pipeline(q: StatsQuery) -> Pipeline:
    """The first accept and first resolve of each ticket by each department."""
    key = {"type": "$type", "ticket": "$ticket_id", "department": "$department"}
    return [
        {"$match": q.event_match(["accept", "resolve"])},
        {"$group": {"_id": key, "at": {"$min": "$at"}}},
    ]


def received_at_pipeline(ticket_ids: Sequence[str]) -> Pipeline:
    return [
        {"$match": {"_id": {"$in": list(ticket_ids)}}},
        {"$project": {"_id": 1, "received_at": 1}},
    ]


def accuracy_pipeline(q: StatsQuery) -> Pipeline:
    """Settled tickets by first routed department, final department and how they were routed."""
    key = {
        "first": "$first_department",
        "final": "$department",
        "auto": "$auto_routed",
        "model": "$first_model_version",
    }
    match = {**q.ticket_match(), "status": {"$in": list(FINAL_STATUSES)}}
    return [{"$match": match}, {"$group": {"_id": key, "n": {"$sum": 1}}}]


def hours_between(
    first_events: Iterable[Doc], received: Mapping[str, datetime]
) -> dict[str, dict[str | None, list[float]]]:
    """Hours from receipt to the first accept / resolve, per event type and department."""
    out: dict[str, dict[str | None, list[float]]] = {"accept": {}, "resolve": {}}
    for row in first_events:
        key = row["_id"]
        start = received.get(key.get("ticket"))
        at = row.get("at")
        if start is None or not isinstance(at, datetime) or key.get("type") not in out:
            continue
        hours = (at - start).total_seconds() / 3600
        out[key["type"]].setdefault(key.get("department"), []).append(hours)
    return out
