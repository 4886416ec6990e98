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

from triage.core.domain import Evidence, Field, LabelScore, Prediction, Span, TicketText
from triage.core.features import FeatureSet

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
    """Implements `triage.core.domain.Classifier`."""

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
        top_p = np.take_along_axis(proba, order, axis=1).round(6).tolist()
        evidence = self._evidence(x, order[:, 0], docs, n_evidence) if n_evidence else None
        return [
            Prediction(
                top=tuple(LabelScore(self.labels[j], p) for j, p in zip(o, ps, strict=True)),
                evidence=evidence[i] if evidence else (),
                model_version=self.version,
            )
            for i, (o, ps) in enumerate(zip(order.tolist(), top_p, strict=True))
        ]

    def _evidence(
        self, x: sp.csr_matrix, labels: npt.NDArray[np.intp], docs: Sequence[TicketText], n: int
    ) -> list[tuple[Evidence, ...]]:
        """Per ticket, the phrases whose n-grams added most to its top label's score.

        Contributions of the whole batch are computed in one numpy expression; only picking
        each ticket's few best and merging them into phrases runs per ticket.
        """
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        contrib = x.data * self.coef[labels[rows], x.indices]
        m = n * _CANDIDATES_PER_TERM
        terms = self.features.terms()
        bounds = x.indptr.tolist()
        out = []
        for i, doc in enumerate(docs):
            lo, hi = bounds[i], bounds[i + 1]
            seg = contrib[lo:hi]
            best = np.argpartition(seg, -m)[-m:] if hi - lo > m else np.arange(hi - lo)
            picked = zip(x.indices[lo:hi][best].tolist(), seg[best].tolist(), strict=True)
            out.append(merge_evidence([(terms[c], w) for c, w in picked if w > 0], doc, n))
        return out


def merge_evidence(
    terms: Sequence[tuple[str, float]], doc: TicketText, n: int
) -> tuple[Evidence, ...]:
    """Overlapping n-grams ("噪音", "音扰", "扰民") become one phrase ("噪音扰民") with their summed
    weight, so an agent sees words rather than fragments; spans say where to highlight.

    A phrase weighs what its n-grams add up to where it first occurs; further occurrences only
    add spans, since the score counted each n-gram once per ticket anyway.
    """
    weights: dict[str, float] = {}
    spans: dict[str, list[Span]] = {}
    term_weights = [w for _, w in terms]
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
        hits.append((len(text) + 1, 0, 0))  # a sentinel that closes the last phrase
        g_start, g_end, members = hits[0][0], hits[0][1], 1 << hits[0][2]
        for start, end, t in hits[1:]:
            if start < g_end:
                members |= 1 << t
                g_end = max(g_end, end)
                continue
            phrase = text[g_start:g_end]
            span = Span(fld, g_start, g_end)
            if phrase in spans:
                spans[phrase].append(span)
            else:
                spans[phrase] = [span]
                weights[phrase] = _member_weight(members, term_weights)
            g_start, g_end, members = start, end, 1 << t
    ranked = sorted(weights, key=weights.__getitem__, reverse=True)[:n]
    return tuple(
        Evidence(term=p, weight=round(weights[p], 4), spans=tuple(spans[p])) for p in ranked
    )


def _member_weight(members: int, term_weights: Sequence[float]) -> float:
    """The summed weight of the terms whose bits are set in `members` (usually one to three)."""
    total = 0.0
    while members:
        low = members & -members
        total += term_weights[low.bit_length() - 1]
        members ^= low
    return total
