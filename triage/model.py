"""A trained model at prediction time: features, linear scores, calibrated probabilities, evidence.

Pure numpy/scipy; no scikit-learn object is needed to predict, so an artifact is plain arrays
and loading it runs no pickled code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from triage.domain import Evidence, Field, LabelScore, Prediction, Span, TicketText
from triage.features import FeatureSet

Matrix = npt.NDArray[np.float32]
_CANDIDATES_PER_TERM = 2  # n-grams considered per evidence phrase asked for, before merging
_MAX_HITS = 64  # occurrences looked at per field: a page needs a few, long texts hold hundreds


def softmax(z: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
    z = z.astype(np.float64) - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: npt.NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


@dataclass(frozen=True)
class Calibrator:
    """Multinomial logistic map from decision scores to probabilities ("matrix scaling")."""

    weight: Matrix  # labels x labels
    bias: Matrix  # labels

    def __call__(self, scores: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
        return softmax(scores @ self.weight.T + self.bias)


@dataclass(frozen=True)
class Model:
    """Implements `triage.domain.Classifier`."""

    version: str
    labels: tuple[str, ...]
    features: FeatureSet
    coef: Matrix  # labels x features
    intercept: Matrix  # labels
    calibrator: Calibrator
    thresholds: Mapping[str, float]
    manifest: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        # sparse @ dense wants the dense side contiguous in the shape it is used; transposing
        # per call copied the whole weight matrix for every batch.
        object.__setattr__(self, "_coef_t", np.ascontiguousarray(self.coef.T))

    def decision_scores(self, x: sp.csr_matrix) -> Matrix:
        coef_t: Matrix = self.__dict__["_coef_t"]
        scores: Matrix = np.asarray(x @ coef_t, dtype=np.float32) + self.intercept
        return scores

    def probabilities(self, docs: Sequence[TicketText]) -> npt.NDArray[np.float64]:
        return self.calibrator(self.decision_scores(self.features.transform(docs)))

    def predict(
        self, docs: Sequence[TicketText], k: int = 3, n_evidence: int = 5
    ) -> list[Prediction]:
        if not docs:
            return []
        x = self.features.transform(docs)
        proba = self.calibrator(self.decision_scores(x))
        k = min(k, len(self.labels))
        order = np.argsort(-proba, axis=1)[:, :k]
        out = []
        for i, doc in enumerate(docs):
            top = tuple(LabelScore(self.labels[j], round(float(proba[i, j]), 6)) for j in order[i])
            evidence = self._evidence(x, i, int(order[i, 0]), doc, n_evidence) if n_evidence else ()
            out.append(Prediction(top=top, evidence=evidence, model_version=self.version))
        return out

    def _evidence(
        self, x: sp.csr_matrix, row: int, label: int, doc: TicketText, n: int
    ) -> tuple[Evidence, ...]:
        """The phrases of this ticket whose n-grams added most to the top label's score."""
        lo, hi = x.indptr[row], x.indptr[row + 1]
        cols = x.indices[lo:hi]
        contrib = x.data[lo:hi] * self.coef[label, cols]
        m = n * _CANDIDATES_PER_TERM
        best = np.argpartition(-contrib, m)[:m] if len(contrib) > m else np.arange(len(contrib))
        terms = [
            (self.features.term(int(cols[b])), float(contrib[b])) for b in best if contrib[b] > 0
        ]
        return merge_evidence(terms, doc, n)


def merge_evidence(
    terms: Sequence[tuple[str, float]], doc: TicketText, n: int
) -> tuple[Evidence, ...]:
    """Overlapping n-grams ("噪音", "音扰", "扰民") become one phrase ("噪音扰民") with their summed
    weight, so an agent sees words rather than fragments; spans say where to highlight."""
    weights: dict[str, float] = {}
    spans: dict[str, list[Span]] = {}
    counted: dict[str, set[int]] = {}
    fields: tuple[tuple[Field, str], ...] = (("title", doc.title), ("body", doc.body))
    for fld, text in fields:
        hits: list[tuple[int, int, int]] = []  # start, end, term index
        for t, (term, _) in enumerate(terms):
            i = text.find(term)
            while i >= 0 and len(hits) < _MAX_HITS:
                hits.append((i, i + len(term), t))
                i = text.find(term, i + 1)
        if not hits:
            continue
        hits.sort()
        g_start, g_end, members = hits[0][0], hits[0][1], {hits[0][2]}
        for start, end, t in [*hits[1:], (len(text) + 1, 0, -1)]:  # sentinel flushes the last
            if start < g_end:
                members.add(t)
                g_end = max(g_end, end)
                continue
            phrase = text[g_start:g_end]
            seen = counted.setdefault(phrase, set())
            weights[phrase] = weights.get(phrase, 0.0) + sum(terms[m][1] for m in members - seen)
            seen |= members  # a term repeated in the same phrase counts once
            spans.setdefault(phrase, []).append(Span(fld, g_start, g_end))
            g_start, g_end, members = start, end, {t}
    ranked = sorted(weights, key=lambda p: -weights[p])[:n]
    return tuple(
        Evidence(term=p, weight=round(weights[p], 4), spans=tuple(spans[p])) for p in ranked
    )
