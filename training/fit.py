"""Fitting: features, chi-squared selection, linear models, calibration.

`fit_linear` is one training run; `out_of_fold_scores` repeats it per fold so that calibration,
thresholds and the reported scores come from tickets the model did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from sklearn.feature_selection import chi2
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from training.config import TrainConfig
from triage.domain import TicketText
from triage.features import CharNgrams, Featurizer, FeatureSet, WordNgrams
from triage.model import Calibrator, Matrix, Model

Labels = npt.NDArray[np.int64]


def fit_features(docs: Sequence[TicketText], y: Labels, cfg: TrainConfig) -> FeatureSet:
    """Candidate n-grams (min_df), then the k best by chi-squared against the labels."""
    parts: list[Featurizer] = []
    weights: list[float] = []
    if cfg.features in ("char", "char+word"):
        parts.append(CharNgrams.candidates(docs, cfg.char_n_min, cfg.char_n_max, cfg.title_repeat, cfg.min_df))
        weights.append(1.0)
    if cfg.features in ("word", "char+word"):
        parts.append(WordNgrams.candidates(docs, cfg.word_n_max, cfg.title_repeat, cfg.min_df))
        weights.append(cfg.word_weight if cfg.features == "char+word" else 1.0)
    selected: list[Featurizer] = []
    share = cfg.k_best / sum(p.size for p in parts)
    for part in parts:
        k = min(part.size, max(1, round(part.size * share)) if len(parts) > 1 else cfg.k_best)
        scores, _ = chi2(part.transform(docs), y)
        best = np.argsort(-np.nan_to_num(scores))[:k]
        selected.append(part.select(best.astype(np.int64)))
    return FeatureSet(tuple(selected), tuple(weights))


def fit_linear(
    docs: Sequence[TicketText], y: Labels, n_labels: int, cfg: TrainConfig
) -> tuple[FeatureSet, Matrix, Matrix]:
    """Features and averaged LinearSVC + ridge weights: one linear model, so no cost at predict."""
    features = fit_features(docs, y, cfg)
    x = features.transform(docs)
    cw = "balanced" if cfg.class_weight == "balanced" else None
    coef = np.zeros((n_labels, features.size), np.float32)
    intercept = np.zeros(n_labels, np.float32)
    members: list[tuple[float, LinearSVC | RidgeClassifier]] = []
    if cfg.ridge_share < 1.0:
        members.append((1.0 - cfg.ridge_share,
                        LinearSVC(C=cfg.svm_c, class_weight=cw, random_state=cfg.seed)))
    if cfg.ridge_share > 0.0:
        members.append((cfg.ridge_share, RidgeClassifier(alpha=cfg.ridge_alpha, class_weight=cw)))
    for share, clf in members:
        clf.fit(x, y)
        if list(clf.classes_) != list(range(n_labels)):
            raise ValueError("every label must occur in the training data")
        scores = clf.decision_function(x)
        spread = float(np.std(scores)) or 1.0  # put both members on one scale before averaging
        coef += share * clf.coef_.astype(np.float32) / spread
        intercept += share * clf.intercept_.astype(np.float32) / spread
    return features, coef, intercept


def out_of_fold_scores(
    docs: Sequence[TicketText], y: Labels, n_labels: int, cfg: TrainConfig,
    progress: Callable[[str], None] = lambda _: None,
) -> npt.NDArray[np.float32]:
    """Decision scores for every ticket from a model trained on the other folds."""
    scores = np.zeros((len(docs), n_labels), np.float32)
    folds = StratifiedKFold(cfg.folds, shuffle=True, random_state=cfg.seed)
    for i, (train, test) in enumerate(folds.split(np.zeros(len(y)), y)):
        progress(f"fold {i + 1}/{cfg.folds}")
        features, coef, intercept = fit_linear([docs[j] for j in train], y[train], n_labels, cfg)
        x = features.transform([docs[j] for j in test])
        scores[test] = np.asarray(x @ coef.T) + intercept
    return scores


def fit_calibrator(scores: npt.NDArray[np.float32], y: Labels, seed: int) -> Calibrator:
    lr = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    lr.fit(scores, y)
    return Calibrator(lr.coef_.astype(np.float32), lr.intercept_.astype(np.float32))


def cross_calibrated(
    scores: npt.NDArray[np.float32], y: Labels, cfg: TrainConfig
) -> npt.NDArray[np.float64]:
    """Calibrated probabilities where each ticket's calibrator never saw that ticket."""
    proba = np.zeros(scores.shape, np.float64)
    folds = StratifiedKFold(cfg.folds, shuffle=True, random_state=cfg.seed + 1)
    for train, test in folds.split(scores, y):
        proba[test] = fit_calibrator(scores[train], y[train], cfg.seed)(scores[test])
    return proba


def fit_model(
    docs: Sequence[TicketText], y: Labels, labels: Sequence[str], cfg: TrainConfig,
    oof_scores: npt.NDArray[np.float32], thresholds: dict[str, float], version: str,
) -> Model:
    features, coef, intercept = fit_linear(docs, y, len(labels), cfg)
    return Model(
        version=version, labels=tuple(labels), features=features, coef=coef, intercept=intercept,
        calibrator=fit_calibrator(oof_scores, y, cfg.seed), thresholds=thresholds,
    )
