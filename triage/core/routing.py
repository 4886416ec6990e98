"""The routing policy: from a prediction and the registry to a decision. Pure, no I/O.

A ticket is routed to a department when the top label's confidence reaches the threshold,
otherwise it goes to review with ranked suggestions. The threshold is the department's own when
the registry sets one, else the model's per-label threshold, else ``DEFAULT_THRESHOLD``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from triage.core.departments import Registry
from triage.core.domain import Evidence, Prediction, TicketText

__all__ = ["DEFAULT_THRESHOLD", "Decision", "Suggestion", "content_hash", "decide", "decision_id"]

DEFAULT_THRESHOLD = 0.5

Kind = Literal["routed", "review"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One ranked label with the department that would handle it (None: no department)."""

    label: str
    probability: float
    department: str | None


@dataclass(frozen=True)  # no slots: `to_json` caches its answer on the instance
class Decision:
    """Where one ticket goes and why; the same input and model always give the same id."""

    decision_id: str
    ticket_id: str
    kind: Kind
    department: str | None
    label: str
    confidence: float
    threshold: float
    suggestions: tuple[Suggestion, ...]
    evidence: tuple[Evidence, ...]
    model_version: str
    district: str | None

    def to_json(self) -> dict[str, object]:
        """The decision as stored and as published (built once: both need it per ticket).

        Callers must not mutate the result; they copy it when they add to it.
        """
        return self._json

    @cached_property
    def _json(self) -> dict[str, object]:
        return {
            "decision_id": self.decision_id,
            "kind": self.kind,
            "department": self.department,
            "label": self.label,
            "confidence": self.confidence,
            "threshold": self.threshold,
            "top_k": [
                {"label": s.label, "probability": s.probability, "department": s.department}
                for s in self.suggestions
            ],
            "evidence": [
                {
                    "term": e.term,
                    "weight": e.weight,
                    "spans": [[s.field, s.start, s.end] for s in e.spans],
                }
                for e in self.evidence
            ],
            "model_version": self.model_version,
            "district": self.district,
        }


def content_hash(*parts: str | None) -> str:
    """A digest of the fields that decide the routing, stable across re-encodings of the JSON."""
    digest = hashlib.sha256()
    for part in parts:
        # A separator that cannot occur in text keeps ("ab", "c") apart from ("a", "bc").
        digest.update(b"\x1f" if part is None else part.encode("utf-8") + b"\x1e")
    return digest.hexdigest()


def decision_id(ticket_id: str, model_version: str, digest: str) -> str:
    """Deterministic, so a redelivered message yields the id its first delivery stored."""
    raw = f"{ticket_id}\x00{model_version}\x00{digest}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _department_for(registry: Registry, label: str, district: str | None) -> str | None:
    if label not in registry.labels:
        return None
    return registry.for_label(label, district).code


def decide(
    prediction: Prediction,
    registry: Registry,
    *,
    ticket_id: str,
    digest: str,
    location: str | None,
    thresholds: Mapping[str, float],
    text: TicketText | None = None,
) -> Decision:
    """Route above the threshold, review below it; a label the registry lacks is reviewed.

    The district comes from the location, else from the one district the (masked) text names.
    """
    district = registry.resolve_district(location)
    if district is None and text is not None:
        district = registry.district_in_text(f"{text.title} {text.body}")
    suggestions = tuple(
        Suggestion(s.label, s.probability, _department_for(registry, s.label, district))
        for s in prediction.top
    )
    top = suggestions[0]
    target = registry.get(top.department) if top.department is not None else None
    threshold = thresholds.get(top.label, DEFAULT_THRESHOLD)
    if target is not None and target.threshold is not None:
        threshold = target.threshold
    routed = target is not None and top.probability >= threshold
    return Decision(
        decision_id=decision_id(ticket_id, prediction.model_version, digest),
        ticket_id=ticket_id,
        kind="routed" if routed else "review",
        department=top.department if routed else None,
        label=top.label,
        confidence=top.probability,
        threshold=threshold,
        suggestions=suggestions,
        evidence=prediction.evidence,
        model_version=prediction.model_version,
        district=district,
    )
