"""Figures per model version, for the model in shadow beside the one that routes.

For each version that routed tickets (``first_model_version``): first-choice accuracy against
settled outcomes, i.e. the share of settled tickets whose settled department stands for the
model's top label (``triage.core.settlement``). For each version that ran in shadow
(``shadow.version``): how often its top label agreed with the routing model's (``shadow.agrees``,
stored at write time), and the same first-choice accuracy for its own top label. The
pipelines group by version, label and department only, so their answers stay small however many
tickets there are, and use ``$match`` and ``$group`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from triage.core.departments import Registry
from triage.core.settlement import SETTLED_STATUSES, label_for
from triage.core.stats import StatsQuery

__all__ = ["agreement_pipeline", "settled_pipeline", "shape_shadow"]

Doc = dict[str, Any]


def agreement_pipeline(q: StatsQuery) -> list[Doc]:
    return [
        {"$match": {**q.ticket_match(), "shadow.version": {"$exists": True}}},
        {"$group": {"_id": {"v": "$shadow.version", "a": "$shadow.agrees"}, "n": {"$sum": 1}}},
    ]


def settled_pipeline(q: StatsQuery) -> list[Doc]:
    return [
        {"$match": {**q.ticket_match(), "status": {"$in": list(SETTLED_STATUSES)}}},
        {
            "$group": {
                "_id": {
                    "m": "$first_model_version",
                    "l": "$first_label",
                    "d": "$department",
                    "sv": "$shadow.version",
                    "sl": "$shadow.label",
                },
                "n": {"$sum": 1},
            }
        },
    ]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def shape_shadow(
    q: StatsQuery,
    registry: Registry,
    agreement_rows: Iterable[Doc],
    settled_rows: Iterable[Doc],
    *,
    active: str,
    shadow: str | None,
) -> Doc:
    """One row per (version, how it ran): tickets scored, agreement, settled, accuracy."""
    rows: dict[tuple[str, str], Doc] = {}

    def row(version: str, ran: str) -> Doc:
        return rows.setdefault(
            (version, ran),
            {"version": version, "ran": ran, "scored": 0, "agreed": 0, "settled": 0, "correct": 0},
        )

    for r in agreement_rows:
        key = r["_id"]
        if key.get("v") is None:
            continue
        one = row(key["v"], "shadow")
        one["scored"] += r["n"]
        one["agreed"] += r["n"] if key.get("a") else 0
    for r in settled_rows:
        key, n = r["_id"], r["n"]
        department = key.get("d")
        if key.get("m") is not None:
            one = row(key["m"], "routing")
            one["settled"] += n
            label = key.get("l")
            one["correct"] += (
                n if department and label_for(registry, department, label) == label else 0
            )
        if key.get("sv") is not None:
            one = row(key["sv"], "shadow")
            one["settled"] += n
            label = key.get("sl")
            one["correct"] += (
                n if department and label_for(registry, department, label) == label else 0
            )
    versions = []
    for (version, ran), one in sorted(rows.items()):
        versions.append(
            {
                **one,
                "agreement": _rate(one["agreed"], one["scored"]) if ran == "shadow" else None,
                "accuracy": _rate(one["correct"], one["settled"]),
                "active": version == active,
                "in_shadow": version == shadow,
            }
        )
    return {**q.to_json(), "active": active, "shadow": shadow, "versions": versions}
