"""The audit of new outcomes before they are trained on or compared with.

Outcomes are written by people: a department that accepts what is not its own, or a bad
script, turns a whole kind of ticket into another label. Each outcome (a row with
``settled_at``) is set against what is already known of its text: the base data's label when
the base files hold the same normalised text, else the reference model's top label when it has
at least ``audit_confidence``. An outcome settled as another label contradicts it. Per known
label, when more than ``audit_max_share`` of its outcomes (and at least ``audit_min_count``)
contradict, the label is flagged, with the (label -> settled label, department) pairs and a few
examples; ``triage train`` and ``triage models compare`` stop there unless forced with a reason.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from training.config import TrainConfig
from training.loaders import Example
from training.texts import text_key
from triage.core.model import Model
from triage.core.text import prepare

__all__ = ["AuditLimits", "audit", "report_lines"]

EXAMPLES = 3
SNIPPET = 40


@dataclass(frozen=True, slots=True)
class AuditLimits:
    confidence: float
    max_share: float
    min_count: int

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> AuditLimits:
        return cls(cfg.audit_confidence, cfg.audit_max_share, cfg.audit_min_count)


def audit(examples: Sequence[Example], reference: Model, limits: AuditLimits) -> dict[str, Any]:
    """The audit of the outcomes among ``examples``; the base rows among them are what is known."""
    base: dict[str, set[str]] = {}
    outcomes: list[Example] = []
    for e in examples:
        if e.settled_at is None:
            base.setdefault(text_key(prepare(e.title, e.body)), set()).add(e.label)
        else:
            outcomes.append(e)
    docs = [prepare(e.title, e.body) for e in outcomes]
    proba = reference.probabilities(docs) if docs else None
    known: Counter[str] = Counter()
    against: Counter[str] = Counter()
    pairs: dict[str, Counter[tuple[str, str]]] = {}
    shown: dict[str, list[dict[str, Any]]] = {}
    for i, (e, doc) in enumerate(zip(outcomes, docs, strict=True)):
        said = base.get(text_key(doc))
        if said is not None and len(said) == 1:
            (expected,) = said
        elif said is None and proba is not None and proba[i].max() >= limits.confidence:
            expected = reference.labels[int(proba[i].argmax())]
        else:
            continue
        known[expected] += 1
        if e.label == expected:
            continue
        against[expected] += 1
        pairs.setdefault(expected, Counter())[(e.label, e.department or "")] += 1
        examples_of = shown.setdefault(expected, [])
        if len(examples_of) < EXAMPLES:
            text = (doc.title + " " + doc.body).strip()
            examples_of.append(
                {
                    "id": e.id,
                    "label": e.label,
                    "department": e.department,
                    "text": text[:SNIPPET] + ("…" if len(text) > SNIPPET else ""),
                }
            )
    labels: dict[str, dict[str, Any]] = {}
    flagged: list[str] = []
    for label in sorted(known):
        share = against[label] / known[label]
        bad = against[label] >= limits.min_count and share > limits.max_share
        if bad:
            flagged.append(label)
        labels[label] = {
            "outcomes": known[label],
            "contradicting": against[label],
            "share": round(share, 4),
            "flagged": bad,
            "pairs": [
                {"label": label, "settled_as": settled, "department": dept or None, "n": n}
                for (settled, dept), n in pairs.get(label, Counter()).most_common()
            ],
            "examples": shown.get(label, []),
        }
    return {
        "reference": reference.version,
        "outcomes": len(outcomes),
        "checked": sum(known.values()),
        "passed": not flagged,
        "flagged": flagged,
        "failures": [
            f"outcomes of {label}: {labels[label]['contradicting']} of "
            f"{labels[label]['outcomes']} ({labels[label]['share']:.0%}) settled as another "
            f"label (at most {limits.max_share:.0%} allowed)"
            for label in flagged
        ],
        "labels": labels,
        "limits": {
            "confidence": limits.confidence,
            "max_share": limits.max_share,
            "min_count": limits.min_count,
        },
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    """The audit as printed: one line per label, then each flagged label's pairs and examples."""
    out = [
        f"audit of {result['outcomes']} new outcomes against {result['reference']} and the base "
        f"data ({result['checked']} with a confident label)"
    ]
    for label, row in result["labels"].items():
        mark = "  FLAGGED" if row["flagged"] else ""
        out.append(
            f"  {_pad(label, 16)}{row['contradicting']:>5} of {row['outcomes']:<5} "
            f"{row['share']:>6.1%} contradicting{mark}"
        )
    for label in result["flagged"]:
        row = result["labels"][label]
        out.append(f"{label}: settled as")
        out += [
            f"    {label} -> {p['settled_as']} at {p['department'] or '?'}: {p['n']}"
            for p in row["pairs"][:5]
        ]
        out += [
            f"    e.g. {x['id']} ({x['department'] or x['label']}): {x['text']}"
            for x in row["examples"]
        ]
    return out


def _pad(text: str, width: int) -> str:
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)
