"""The promotion gate: what routing will do with the candidate, against the reference, on data
neither trained on and whose labels can be trusted.

Two parts of the files given are scored, each apart:
- ``holdout``: examples of the base files (rows without ``settled_at``) that fall in the fixed
  hold-out (``training/holdout.py``); their labels come from the base data, not from outcomes;
- ``outcomes``: exported outcomes (rows with ``settled_at``).
In both, an example counts only when its normalised text (``training/texts.py``) is in neither
model's training data, and each text counts once (texts given with two labels not at all). A
model trained before its texts were kept is held to the older rule: outcomes settled after the
newest one it learned from.

Per label, beside F1, the gate measures what routing does at each model's own thresholds: the
share of the label's tickets routed without a person (coverage) and the share of tickets
auto-routed to the label that belong to it (auto-routed precision). The candidate is refused,
in either part, when macro-F1 falls more than ``gate_macro_f1_drop``; when a label's F1 falls
more than ``gate_class_f1_drop`` or its coverage more than ``gate_coverage_drop``; or when a
label's auto-routed precision is under ``gate_auto_precision``. Label figures count only with
``gate_min_support`` examples behind them. Every failure names its part, label and figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from training.config import TrainConfig
from training.holdout import in_holdout, parse_time
from training.loaders import Example
from training.texts import read_trained, text_key
from training.verdict import VERDICT_FILE, read_verdict, write_verdict
from triage.core.errors import TriageError
from triage.core.model import Model
from triage.core.text import prepare

__all__ = [
    "PARTS",
    "VERDICT_FILE",
    "GateError",
    "Limits",
    "compare",
    "gate_examples",
    "read_verdict",
    "write_verdict",
]

PARTS = ("holdout", "outcomes")


class GateError(TriageError):
    """The comparison cannot be made (no evaluation data, unreadable files)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Fractions: 0.005 is half a point of F1, 0.10 ten points of coverage."""

    macro_f1_drop: float
    class_f1_drop: float
    coverage_drop: float = 0.10
    auto_precision: float = 0.90
    min_support: int = 8
    min_tickets: int = 4

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Limits:
        return cls(
            cfg.gate_macro_f1_drop,
            cfg.gate_class_f1_drop,
            cfg.gate_coverage_drop,
            cfg.gate_auto_precision,
            cfg.gate_min_support,
            cfg.gate_min_tickets,
        )


def _settled_until(model: Model) -> datetime | None:
    value = (model.manifest.get("data") or {}).get("settled_until")
    return parse_time(value) if isinstance(value, str) else None


def _holdout_share(model: Model) -> float | None:
    value = (model.manifest.get("data") or {}).get("gate_holdout")
    return float(value) if isinstance(value, int | float) else None


def gate_examples(
    examples: Sequence[Example], candidate: Model, reference: Model, default_share: float
) -> tuple[dict[str, list[Example]], dict[str, Any]]:
    """The examples of each part the gate scores on, and what was left out and why."""
    share = _holdout_share(candidate)
    share = default_share if share is None else share
    trained: set[str] = set()
    legacy: list[Model] = []
    for m in (candidate, reference):
        keys = read_trained(m.path)
        if keys is None:
            legacy.append(m)
        else:
            trained |= keys
    bounds = [t for t in (_settled_until(m) for m in legacy) if t is not None]
    after = max(bounds) if bounds else None
    labels: dict[str, set[str]] = {}
    first: dict[str, tuple[str, Example]] = {}
    seen_trained = older = 0
    for e in examples:
        doc = prepare(e.title, e.body)
        key = text_key(doc)
        labels.setdefault(key, set()).add(e.label)
        if key in first:
            continue
        if key in trained:
            seen_trained += 1
            continue
        if e.settled_at is None:
            if in_holdout(doc, share):
                first[key] = ("holdout", e)
        elif legacy and after is not None and parse_time(e.settled_at) <= after:
            older += 1
        else:
            first[key] = ("outcomes", e)
    parts: dict[str, list[Example]] = {p: [] for p in PARTS}
    ambiguous = 0
    for key, (part, e) in first.items():
        if len(labels[key]) > 1:
            ambiguous += 1
        else:
            parts[part].append(e)
    warnings = [
        f"{m.version} was trained without the gate's hold-out (it saw those examples): "
        "its figures there are optimistic"
        for m in (reference, candidate)
        if _holdout_share(m) is None
    ] + [
        f"{m.version} keeps no record of the texts it trained on: outcomes count only when "
        "settled after the newest one it learned from"
        for m in legacy
    ]
    info = {
        "warnings": warnings,
        "holdout": len(parts["holdout"]),
        "holdout_share": share,
        "outcomes": len(parts["outcomes"]),
        "left_out": {
            "trained_on": seen_trained,
            "settled_before": older,
            "two_labels": ambiguous,
        },
        "settled_after": after.isoformat() if after else None,
    }
    return parts, info


@dataclass(frozen=True, slots=True)
class _Routing:
    """One model's decisions on one part: top label and whether it is routed without a person."""

    pred: np.ndarray[Any, np.dtype[np.int64]]
    auto: np.ndarray[Any, np.dtype[np.bool_]]


def _route(model: Model, examples: Sequence[Example], labels: Sequence[str]) -> _Routing:
    proba = model.probabilities([prepare(e.title, e.body) for e in examples])
    top = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    index = {label: i for i, label in enumerate(labels)}
    pred = np.asarray([index[model.labels[t]] for t in top], np.int64)
    limit = np.asarray([model.thresholds.get(model.labels[t], 1.0) for t in top])
    return _Routing(pred, conf >= limit)


@dataclass(frozen=True, slots=True)
class _Label:
    """Both models on one label: the figures, and how many tickets each change is made of."""

    candidate: dict[str, Any]
    reference: dict[str, Any]
    support: int
    # Tickets the candidate gets wrong that the reference got right, less the reverse.
    lost: dict[str, int]


def _label(c: _Routing, r: _Routing, y: np.ndarray[Any, np.dtype[np.int64]], i: int) -> _Label:
    mine = y == i
    figures: list[dict[str, Any]] = []
    wrong: list[int] = []
    for routes in (c, r):
        said = routes.pred == i
        tp = int((mine & said).sum())
        total = int(mine.sum()) + int(said.sum())
        routed = said & routes.auto
        wrong.append(int((routed & ~mine).sum()))
        figures.append(
            {
                "f1": 2 * tp / total if total else 0.0,
                "coverage": float(routes.auto[mine].mean()) if mine.any() else 0.0,
                "auto_routed": int(routed.sum()),
                "auto_wrong": int((routed & ~mine).sum()),
                "auto_precision": float(mine[routed].mean()) if routed.any() else None,
            }
        )
    # A ticket counts against a label's F1 when it is the label's and is not said to be, or
    # is said to be and is not: the candidate's errors of that kind less the reference's.
    c_err = (mine & (c.pred != i)) | (~mine & (c.pred == i))
    r_err = (mine & (r.pred != i)) | (~mine & (r.pred == i))
    lost = {
        "f1": int((c_err & ~r_err).sum()) - int((r_err & ~c_err).sum()),
        "coverage": int((mine & r.auto & ~c.auto).sum()) - int((mine & c.auto & ~r.auto).sum()),
        "auto_precision": wrong[0] - wrong[1],
    }
    return _Label(figures[0], figures[1], int(mine.sum()), lost)


def _score_part(
    name: str, candidate: Model, reference: Model, examples: Sequence[Example], limits: Limits
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    labels = sorted({e.label for e in examples} | set(candidate.labels) | set(reference.labels))
    index = {label: i for i, label in enumerate(labels)}
    y = np.asarray([index[e.label] for e in examples], np.int64)
    c_routes = _route(candidate, examples, labels)
    r_routes = _route(reference, examples, labels)
    present = sorted({e.label for e in examples})
    failures: list[dict[str, Any]] = []

    def fail(label: str | None, figure: str, c: float, r: float | None, text: str) -> None:
        where = f"{name}: {label}" if label else name
        failures.append(
            {
                "part": name,
                "label": label,
                "figure": figure,
                "candidate": round(c, 4),
                "reference": None if r is None else round(r, 4),
                "message": f"{where}: {text}",
            }
        )

    per_class: dict[str, dict[str, Any]] = {}
    for label in present:
        one = _label(c_routes, r_routes, y, index[label])
        c, r, lost = one.candidate, one.reference, one.lost
        per_class[label] = {
            "support": one.support,
            **{
                figure: {
                    "candidate": _round(c[figure]),
                    "reference": _round(r[figure]),
                    "diff": _round(c[figure] - r[figure]),
                    "tickets_lost": lost[figure],
                }
                for figure in ("f1", "coverage")
            },
            "auto_precision": {
                "candidate": _round(c["auto_precision"]),
                "reference": _round(r["auto_precision"]),
                "auto_routed": c["auto_routed"],
                "tickets_lost": lost["auto_precision"],
            },
        }
        if one.support < limits.min_support:
            continue
        f1_drop, cov_drop = r["f1"] - c["f1"], r["coverage"] - c["coverage"]
        if f1_drop > limits.class_f1_drop and lost["f1"] >= limits.min_tickets:
            fail(
                label,
                "f1",
                c["f1"],
                r["f1"],
                f"F1 {c['f1']:.4f} is {100 * f1_drop:.2f} points below the reference's "
                f"{r['f1']:.4f}, {lost['f1']} tickets (at most "
                f"{100 * limits.class_f1_drop:.2f} points allowed)",
            )
        if cov_drop > limits.coverage_drop and lost["coverage"] >= limits.min_tickets:
            fail(
                label,
                "coverage",
                c["coverage"],
                r["coverage"],
                f"coverage {c['coverage']:.1%} is {100 * cov_drop:.1f} points below the "
                f"reference's {r['coverage']:.1%}: {lost['coverage']} more of its "
                f"{one.support} tickets to review (at most {100 * limits.coverage_drop:.1f} "
                "points allowed)",
            )
        precision = c["auto_precision"]
        if (
            precision is not None
            and precision < limits.auto_precision
            and lost["auto_precision"] >= limits.min_tickets
        ):
            fail(
                label,
                "auto_precision",
                precision,
                r["auto_precision"],
                f"auto-routed precision {precision:.1%} of {c['auto_routed']} tickets is under "
                f"{limits.auto_precision:.0%}, {lost['auto_precision']} more routed wrong than "
                "by the reference",
            )
    macro = {
        who: sum(per_class[label]["f1"][who] for label in present) / len(present)
        for who in ("candidate", "reference")
    }
    macro_drop = macro["reference"] - macro["candidate"]
    if macro_drop > limits.macro_f1_drop:
        fail(
            None,
            "macro_f1",
            macro["candidate"],
            macro["reference"],
            f"macro-F1 {macro['candidate']:.4f} is {100 * macro_drop:.2f} points below the "
            f"reference's {macro['reference']:.4f} "
            f"(at most {100 * limits.macro_f1_drop:.2f} allowed)",
        )
    part = {
        "n": len(examples),
        "macro_f1": {
            **{k: round(v, 4) for k, v in macro.items()},
            "diff": round(-macro_drop, 4),
        },
        "coverage": {
            "candidate": round(float(c_routes.auto.mean()), 4),
            "reference": round(float(r_routes.auto.mean()), 4),
        },
        "per_class": per_class,
        "failures": [f["message"] for f in failures],
    }
    return part, failures


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def compare(
    candidate: Model,
    reference: Model,
    parts: Mapping[str, Sequence[Example]],
    limits: Limits,
) -> dict[str, Any]:
    """Both models scored on every part that has examples; the figures and the verdict."""
    if not any(parts.values()):
        raise GateError(
            "no evaluation data: none of the examples is in the gate's hold-out of a base file "
            "or an outcome whose text neither model trained on; give the base data file"
        )
    scored: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    for name in PARTS:
        if parts.get(name):
            scored[name], failed = _score_part(name, candidate, reference, parts[name], limits)
            failures += failed
    refused = sorted({f["label"] for f in failures if f["label"]})
    # The headline figures are those of the trusted part when there is one.
    main = scored.get("holdout") or next(iter(scored.values()))
    return {
        "candidate": candidate.version,
        "reference": reference.version,
        # What the verdict is bound to: an activation checks both against the active model.
        "reference_sha256": reference.manifest.get("weights_sha256"),
        "passed": not failures,
        "failures": [f["message"] for f in failures],
        "refused_labels": refused,
        "failed": failures,
        "n": sum(p["n"] for p in scored.values()),
        "macro_f1": main["macro_f1"],
        "per_class": main["per_class"],
        "parts": scored,
        "limits": {
            "macro_f1_drop": limits.macro_f1_drop,
            "class_f1_drop": limits.class_f1_drop,
            "coverage_drop": limits.coverage_drop,
            "auto_precision": limits.auto_precision,
            "min_support": limits.min_support,
            "min_tickets": limits.min_tickets,
        },
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
