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

from triage.domain import Evidence, LabelScore, Prediction, Span, TicketText
from triage.features import FeatureSet

Matrix = npt.NDArray[np.float32]
_CANDIDATE_TERMS = 15  # n-grams considered before overlapping ones are merged into phrases


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
        if len(contrib) > _CANDIDATE_TERMS:
            best = np.argpartition(-contrib, _CANDIDATE_TERMS)[:_CANDIDATE_TERMS]
        else:
            best = np.arange(len(contrib))
        terms = [
            (self.features.term(int(cols[b])), float(contrib[b])) for b in best if contrib[b] > 0
        ]
        return merge_evidence(terms, doc, n)


def _find_all(text: str, term: str) -> list[int]:
    starts, i = [], text.find(term)
    while i >= 0:
        starts.append(i)
        i = text.find(term, i + 1)
    return starts


def merge_evidence(
    terms: Sequence[tuple[str, float]], doc: TicketText, n: int
) -> tuple[Evidence, ...]:
    """Overlapping n-grams ("噪音", "音扰", "扰民") become one phrase ("噪音扰民") with their summed
    weight, so an agent sees words rather than fragments; spans say where to highlight."""
    phrases: dict[str, list[Any]] = {}
    for fld, text in (("title", doc.title), ("body", doc.body)):
        hits: list[tuple[int, int, int]] = []  # start, end, term index
        for t, (term, _) in enumerate(terms):
            hits.extend((s, s + len(term), t) for s in _find_all(text, term))
        hits.sort()
        groups: list[tuple[int, int, set[int]]] = []
        for start, end, t in hits:
            if groups and start < groups[-1][1]:
                g_start, g_end, members = groups[-1]
                members.add(t)
                groups[-1] = (g_start, max(g_end, end), members)
            else:
                groups.append((start, end, {t}))
        for start, end, members in groups:
            phrase = text[start:end]
            entry = phrases.setdefault(phrase, [0.0, [], set()])
            entry[1].append(Span(fld, start, end))  # type: ignore[arg-type]
            new = members - entry[2]  # a term repeated in the same phrase counts once
            entry[0] += sum(terms[t][1] for t in new)
            entry[2].update(new)
    ranked = sorted(phrases.items(), key=lambda kv: -kv[1][0])[:n]
    return tuple(
        Evidence(term=p, weight=round(w, 4), spans=tuple(spans)) for p, (w, spans, _) in ranked
    )
