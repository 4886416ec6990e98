"""Scores of predictions: accuracy, per-class figures, calibration, thresholds, coverage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

Proba = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]


def classification_scores(y: Labels, proba: Proba, labels: Sequence[str]) -> dict[str, Any]:
    """`n`, `accuracy`, `macro_f1`, `per_class` (precision, recall, f1, support), confusion."""
    pred = proba.argmax(axis=1)
    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=idx, zero_division=0)
    return {
        "n": len(y),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "macro_f1": round(
            float(f1_score(y, pred, labels=idx, average="macro", zero_division=0)), 4
        ),
        "per_class": {
            label: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": confusion_matrix(y, pred, labels=idx).tolist(),
    }


def macro_f1(y: Labels, pred: Labels, n_labels: int) -> float:
    """Unweighted mean F1 over labels `0..n_labels-1`, unrounded."""
    return float(f1_score(y, pred, labels=list(range(n_labels)), average="macro", zero_division=0))


def reliability(y: Labels, proba: Proba, bins: int) -> dict[str, Any]:
    """Expected calibration error of the top label, and the table a reliability plot draws."""
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        m = which == b
        if not m.any():
            continue
        acc, mean_conf = float(correct[m].mean()), float(conf[m].mean())
        ece += m.mean() * abs(acc - mean_conf)
        table.append(
            {
                "low": round(float(edges[b]), 2),
                "high": round(float(edges[b + 1]), 2),
                "n": int(m.sum()),
                "confidence": round(mean_conf, 4),
                "accuracy": round(acc, 4),
            }
        )
    return {"ece": round(ece, 4), "bins": table}


def per_class_thresholds(
    y: Labels, proba: Proba, labels: Sequence[str], target: float, min_support: int
) -> dict[str, float]:
    """For each label, the lowest confidence from which predictions of it reach `target` precision.

    Scanned from the top: the threshold is the lowest confidence such that the precision of all
    predictions of that label at or above it is at least `target`, with at least `min_support`
    of them. A label that never gets there gets 1.0: it always goes to review.
    """
    pred = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    out: dict[str, float] = {}
    for i, label in enumerate(labels):
        m = pred == i
        order = np.argsort(-conf[m])
        c, ok = conf[m][order], (y[m] == i)[order]
        precision = np.cumsum(ok) / np.arange(1, len(ok) + 1)
        good = np.nonzero((precision >= target) & (np.arange(1, len(ok) + 1) >= min_support))[0]
        out[label] = round(float(c[good[-1]]), 4) if len(good) else 1.0
    return out


def coverage(
    y: Labels, proba: Proba, labels: Sequence[str], thresholds: Mapping[str, float]
) -> dict[str, Any]:
    """Share of tickets that would be routed without a person, and how precise that routing is."""
    pred = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    limit = np.asarray([thresholds.get(labels[p], 1.0) for p in pred])
    auto = conf >= limit
    return {
        "coverage": round(float(auto.mean()), 4),
        "auto_precision": round(float((pred[auto] == y[auto]).mean()), 4) if auto.any() else None,
        "per_class": {
            label: round(float(auto[pred == i].mean()), 4) if (pred == i).any() else 0.0
            for i, label in enumerate(labels)
        },
    }
