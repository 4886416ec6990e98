"""The promotion gate: a candidate model against the reference, on data neither trained on.

The evaluation data is taken from the files given, and only two parts of them count:
- the fixed hold-out (``training/holdout.py``): a hash of the masked text puts about a tenth of
  every file there, and ``triage train`` never trains on it;
- outcomes (examples with ``settled_at``) settled after the newest outcome either model trained
  on (``data.settled_until`` in its manifest): a split in time, never at random, so the
  candidate is scored on what the hotline settled after it learned.

Both models are scored on the same examples. The candidate is refused when its macro-F1 (over
the labels present in the data) is more than ``gate_macro_f1_drop`` below the reference's, or
when any label's F1 is more than ``gate_class_f1_drop`` below; the verdict names each figure
that failed. A verdict is kept beside the candidate (``gate.json``) so that an activation over
HTTP can tell whether the version passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from training.config import TrainConfig
from training.holdout import in_holdout, parse_time
from training.loaders import Example
from training.pipeline import evaluate
from training.verdict import VERDICT_FILE, read_verdict, write_verdict
from triage.core.errors import TriageError
from triage.core.model import Model
from triage.core.text import prepare

__all__ = [
    "VERDICT_FILE",
    "GateError",
    "Limits",
    "compare",
    "gate_examples",
    "read_verdict",
    "write_verdict",
]


class GateError(TriageError):
    """The comparison cannot be made (no evaluation data, unreadable files)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest drops a candidate may show, as fractions (0.005 is half a point of F1)."""

    macro_f1_drop: float
    class_f1_drop: float

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Limits:
        return cls(cfg.gate_macro_f1_drop, cfg.gate_class_f1_drop)


def _settled_until(model: Model) -> datetime | None:
    value = (model.manifest.get("data") or {}).get("settled_until")
    return parse_time(value) if isinstance(value, str) else None


def _holdout_share(model: Model) -> float | None:
    value = (model.manifest.get("data") or {}).get("gate_holdout")
    return float(value) if isinstance(value, int | float) else None


def gate_examples(
    examples: Sequence[Example], candidate: Model, reference: Model, default_share: float
) -> tuple[list[Example], dict[str, Any]]:
    """The examples the gate scores on, and how many came from each part."""
    share = _holdout_share(candidate)
    share = default_share if share is None else share
    bounds = [t for t in (_settled_until(candidate), _settled_until(reference)) if t is not None]
    after = max(bounds) if bounds else None
    held: list[Example] = []
    newer: list[Example] = []
    for e in examples:
        if in_holdout(prepare(e.title, e.body), share):
            held.append(e)
        elif e.settled_at is not None and (after is None or parse_time(e.settled_at) > after):
            newer.append(e)
    warnings = [
        f"{m.version} was trained without the gate's hold-out (it saw those examples): "
        "its figures there are optimistic"
        for m in (reference, candidate)
        if _holdout_share(m) is None
    ]
    parts = {
        "warnings": warnings,
        "holdout": len(held),
        "holdout_share": share,
        "newer_outcomes": len(newer),
        "settled_after": after.isoformat() if after else None,
    }
    return held + newer, parts


def _f1s(result: dict[str, Any], labels: Sequence[str]) -> dict[str, float]:
    per_class = result["per_class"]
    return {label: float(per_class.get(label, {}).get("f1", 0.0)) for label in labels}


def compare(
    candidate: Model, reference: Model, examples: Sequence[Example], limits: Limits
) -> dict[str, Any]:
    """Both models scored on ``examples``; per-class and macro differences and the verdict."""
    if not examples:
        raise GateError(
            "no evaluation data: none of the examples is in the gate's hold-out or settled "
            "after what the models trained on; give the base data file and newer outcomes"
        )
    cand, ref = evaluate(candidate, examples), evaluate(reference, examples)
    support: dict[str, int] = {}
    for e in examples:
        support[e.label] = support.get(e.label, 0) + 1
    labels = sorted(support)
    c_f1, r_f1 = _f1s(cand, labels), _f1s(ref, labels)
    c_macro = sum(c_f1.values()) / len(labels)
    r_macro = sum(r_f1.values()) / len(labels)
    failures: list[str] = []
    if r_macro - c_macro > limits.macro_f1_drop:
        failures.append(
            f"macro-F1 {c_macro:.4f} is {100 * (r_macro - c_macro):.2f} points below the "
            f"reference's {r_macro:.4f} (at most {100 * limits.macro_f1_drop:.2f} allowed)"
        )
    per_class: dict[str, dict[str, Any]] = {}
    for label in labels:
        diff = c_f1[label] - r_f1[label]
        per_class[label] = {
            "candidate": round(c_f1[label], 4),
            "reference": round(r_f1[label], 4),
            "diff": round(diff, 4),
            "support": support[label],
        }
        if -diff > limits.class_f1_drop:
            failures.append(
                f"class {label}: F1 {c_f1[label]:.4f} is {-100 * diff:.2f} points below the "
                f"reference's {r_f1[label]:.4f} (at most {100 * limits.class_f1_drop:.2f} allowed)"
            )
    return {
        "candidate": candidate.version,
        "reference": reference.version,
        "passed": not failures,
        "failures": failures,
        "n": len(examples),
        "macro_f1": {
            "candidate": round(c_macro, 4),
            "reference": round(r_macro, 4),
            "diff": round(c_macro - r_macro, 4),
        },
        "accuracy": {"candidate": cand["accuracy"], "reference": ref["accuracy"]},
        "per_class": per_class,
        "limits": {"macro_f1_drop": limits.macro_f1_drop, "class_f1_drop": limits.class_f1_drop},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
