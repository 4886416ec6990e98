"""Outcomes as training data: which department a ticket settled with, and the label that means.

A ticket is settled when the department it is with now has accepted it (status ``accepted``)
or resolved it (``resolved``, which follows an accept): that department is the one the hotline
learned was right. A ticket still routed, reassigned and not yet accepted, returned or in
review is not settled. How the label was learned:

    confirmed    the model routed it and the first department kept it
    corrected    the model routed it elsewhere; a return or a reassignment moved it here
    from_review  the model sent it to review and an agent chose the department

The label is the model label the registry maps the department to; a district department with
no label of its own maps like the city department it mirrors (``counterpart_of``). For a
department that handles several labels (a merged district bureau) the label is, in order: the
one the agent stated when dispatching the ticket there, the model's own label when it is one of
the bureau's, and the bureau's label the model scored highest. A department no label maps to
gives ``None``: the signal for a new label.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.core.departments import Registry

__all__ = [
    "SETTLED_STATUSES",
    "SOURCES",
    "ExportSummary",
    "Settled",
    "department_labels",
    "example_row",
    "label_for",
    "settle",
]

SETTLED_STATUSES: tuple[str, ...] = ("accepted", "resolved")
SOURCES: tuple[str, ...] = ("confirmed", "corrected", "from_review")


@dataclass(frozen=True, slots=True)
class Settled:
    department: str
    source: str


def settle(
    *,
    status: str | None,
    department: str | None,
    auto_routed: bool | None,
    first_department: str | None,
) -> Settled | None:
    """The department a ticket settled with and how that was learned, or None if not settled."""
    if status not in SETTLED_STATUSES or not department:
        return None
    if not auto_routed:
        return Settled(department, "from_review")
    if department == first_department:
        return Settled(department, "confirmed")
    return Settled(department, "corrected")


def department_labels(registry: Registry, department: str) -> tuple[str, ...]:
    """The model labels ``department`` handles, its own or those of the city one it mirrors."""
    dept = registry.get(department)
    if dept is None:
        return ()
    mirrored = registry.get(dept.counterpart_of) if dept.counterpart_of else None
    if not dept.labels and mirrored is not None:
        return mirrored.labels
    return dept.labels


def label_for(
    registry: Registry,
    department: str,
    model_label: str | None = None,
    *,
    stated: str | None = None,
    ranked: Sequence[str] = (),
) -> str | None:
    """The model label ``department`` stands for, or None when no label maps to it.

    ``stated`` is the label an agent gave when dispatching there; ``ranked`` the labels the
    model scored, highest first.
    """
    candidates = department_labels(registry, department)
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    for label in (stated, model_label, *ranked):
        if label in candidates:
            return label
    dept = registry.department(department)
    mirrored = registry.get(dept.counterpart_of) if dept.counterpart_of else None
    if mirrored is not None and len(mirrored.labels) == 1 and mirrored.labels[0] in candidates:
        return mirrored.labels[0]
    return sorted(candidates)[0]


def _stated(doc: Mapping[str, Any], department: str) -> str | None:
    """The label stated with the dispatch that brought the ticket to ``department`` last."""
    assignments = doc.get("assignments") or []
    last = assignments[-1] if assignments else None
    if isinstance(last, Mapping) and last.get("department") == department:
        label = last.get("label")
        return label if isinstance(label, str) else None
    return None


def _ranked(doc: Mapping[str, Any]) -> list[str]:
    """The labels the model that first decided the ticket scored, highest first."""
    decisions = doc.get("decisions") or []
    first = decisions[0] if decisions and isinstance(decisions[0], Mapping) else {}
    top = [s for s in first.get("top_k") or [] if isinstance(s, Mapping)]
    top.sort(key=lambda s: -float(s.get("probability") or 0.0))
    return [str(s.get("label")) for s in top]


def example_row(doc: Mapping[str, Any], registry: Registry) -> dict[str, Any] | None:
    """One labelled example (the columns ``triage train --data`` reads, plus where it came
    from) of a stored ticket document, or None when the ticket is not settled."""
    settled = settle(
        status=doc.get("status"),
        department=doc.get("department"),
        auto_routed=doc.get("auto_routed"),
        first_department=doc.get("first_department"),
    )
    at = doc.get("accepted_at")
    if settled is None or not isinstance(at, datetime):
        return None
    return {
        "id": doc["_id"],
        "title": doc.get("title") or "",
        "body": doc.get("body") or "",
        "label": label_for(
            registry,
            settled.department,
            doc.get("first_label"),
            stated=_stated(doc, settled.department),
            ranked=_ranked(doc),
        ),
        "ticket_id": doc["_id"],
        "department": settled.department,
        "source": settled.source,
        "settled_at": at.isoformat(),
    }


def _pad(text: str, width: int) -> str:
    """``text`` in ``width`` terminal columns: a Chinese character takes two."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)


@dataclass
class ExportSummary:
    """What an export wrote: examples per label and per source, unmapped departments apart."""

    labels: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0

    @property
    def examples(self) -> int:
        return sum(self.labels.values()) + sum(self.unmapped.values())

    def add(self, row: Mapping[str, Any]) -> None:
        self.sources[row["source"]] += 1
        if row["label"] is None:
            self.unmapped[row["department"]] += 1
        else:
            self.labels[row["label"]] += 1

    def lines(self) -> list[str]:
        """The summary as printed: totals, then one line per label, source and department."""
        out = [
            f"{self.examples} examples ({sum(self.labels.values())} labelled, "
            f"{sum(self.unmapped.values())} unmapped, {self.duplicates} duplicates skipped)"
        ]
        out += [f"  label   {_pad(label, 16)}{n:>8}" for label, n in sorted(self.labels.items())]
        out += [f"  source  {source:<16}{self.sources[source]:>8}" for source in SOURCES]
        if self.unmapped:
            out.append("  departments no label maps to (label null; a new label?):")
            out += [f"          {code:<24}{n:>8}" for code, n in self.unmapped.most_common()]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "labels": dict(sorted(self.labels.items())),
            "sources": {s: self.sources[s] for s in SOURCES},
            "unmapped": dict(self.unmapped.most_common()),
            "duplicates": self.duplicates,
        }
