"""Fitting: features, chi-squared selection, linear models, calibration.

`fit_linear` is one training run; `out_of_fold_scores` repeats it per fold so that calibration,
thresholds and the reported scores come from tickets the model did not see. Large data sets use
one `validation_split` instead (training/pipeline.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar
from sklearn.feature_selection import chi2
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from training.config import TrainConfig
from triage.core.domain import TicketText
from triage.core.features import CharNgrams, FeatureSet, Featurizer, WordNgrams
from triage.core.model import Calibrator, Matrix

Labels = npt.NDArray[np.int64]
Fitted = tuple[FeatureSet, Matrix, Matrix]  # what `fit_linear` returns


def fit_features(docs: Sequence[TicketText], cfg: TrainConfig) -> FeatureSet:
    """Every n-gram in at least `min_df` tickets, with its idf."""
    parts: list[Featurizer] = []
    weights: list[float] = []
    if cfg.features in ("char", "char+word"):
        parts.append(
            CharNgrams.candidates(
                docs, cfg.char_n_min, cfg.char_n_max, cfg.title_repeat, cfg.min_df
            )
        )
        weights.append(1.0)
    if cfg.features in ("word", "char+word"):
        parts.append(WordNgrams.candidates(docs, cfg.word_n_max, cfg.title_repeat, cfg.min_df))
        weights.append(cfg.word_weight if cfg.features == "char+word" else 1.0)
    return FeatureSet(tuple(parts), tuple(weights))


def select(features: FeatureSet, columns: npt.NDArray[np.int64]) -> FeatureSet:
    """Keep the given global columns, each featurizer its own share."""
    parts: list[Featurizer] = []
    start = 0
    for part in features.parts:
        mine = columns[(columns >= start) & (columns < start + part.size)] - start
        parts.append(part.select(mine))
        start += part.size
    return FeatureSet(tuple(parts), features.weights)


def fit_linear(docs: Sequence[TicketText], y: Labels, n_labels: int, cfg: TrainConfig) -> Fitted:
    """Averaged LinearSVC + ridge weights over the k n-grams chi-squared ranks best.

    Only the selected n-grams stay in the vocabulary, and vectors are re-normalised over them:
    keeping every candidate for the vector length scored no better in cross-validation (0.906
    against 0.908 at k=40,000) and made prediction 15x slower.
    Averaging the two linear models gives one linear model, so it costs nothing at predict.
    """
    candidates = fit_features(docs, cfg)
    scores, _ = chi2(candidates.transform(docs), y)
    best = np.argsort(-np.nan_to_num(scores))[: cfg.k_best]
    features = select(candidates, best.astype(np.int64))
    xs = features.transform(docs)
    cw = "balanced" if cfg.class_weight == "balanced" else None
    coef = np.zeros((n_labels, features.size), np.float32)
    intercept = np.zeros(n_labels, np.float32)
    members: list[tuple[float, LinearSVC | RidgeClassifier]] = []
    if cfg.ridge_share < 1.0:
        members.append(
            # The dual solver, as scikit-learn picks below as many tickets as n-grams; above
            # it would pick the primal one, which took four times as long on 100,000 tickets.
            (
                1.0 - cfg.ridge_share,
                LinearSVC(C=cfg.svm_c, class_weight=cw, dual=True, random_state=cfg.seed),
            )
        )
    if cfg.ridge_share > 0.0:
        members.append((cfg.ridge_share, RidgeClassifier(alpha=cfg.ridge_alpha, class_weight=cw)))
    # The two members are independent: fitted side by side (liblinear leaves the interpreter
    # lock while it works), then added in a fixed order, so the weights are those of one after
    # the other.
    with ThreadPoolExecutor(len(members)) as pool:
        fitted = list(pool.map(lambda member: member[1].fit(xs, y), members))
    for (share, _), clf in zip(members, fitted, strict=True):
        if list(clf.classes_) != list(range(n_labels)):
            raise ValueError("every label must occur in the training data")
        spread = float(np.std(clf.decision_function(xs))) or 1.0  # one scale for both members
        coef += share * clf.coef_.astype(np.float32) / spread
        intercept += share * clf.intercept_.astype(np.float32) / spread
    return features, coef, intercept


def decision_scores(fitted: Fitted, docs: Sequence[TicketText]) -> npt.NDArray[np.float32]:
    """The linear scores of a fitted model for ``docs`` (before calibration)."""
    features, coef, intercept = fitted
    return (np.asarray(features.transform(docs) @ coef.T) + intercept).astype(np.float32)


def out_of_fold_scores(
    docs: Sequence[TicketText],
    y: Labels,
    n_labels: int,
    cfg: TrainConfig,
    progress: Callable[[str], None] = lambda _: None,
) -> npt.NDArray[np.float32]:
    """Decision scores for every ticket from a model trained on the other folds."""
    scores = np.zeros((len(docs), n_labels), np.float32)
    folds = StratifiedKFold(cfg.folds, shuffle=True, random_state=cfg.seed)
    for i, (train, test) in enumerate(folds.split(np.zeros(len(y)), y)):
        progress(f"fold {i + 1}/{cfg.folds}")
        fitted = fit_linear([docs[j] for j in train], y[train], n_labels, cfg)
        scores[test] = decision_scores(fitted, [docs[j] for j in test])
    return scores


def validation_split(
    y: Labels, share: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Training and validation indexes, `share` of every label to validation (rounded, at least
    one of a label with two or more examples, none of a label with one: it must be trained on).
    """
    rng = np.random.default_rng(seed)
    train: list[npt.NDArray[np.int64]] = []
    valid: list[npt.NDArray[np.int64]] = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n = 0 if len(members) < 2 else max(1, round(len(members) * share))
        valid.append(members[:n])
        train.append(members[n:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))


def fit_calibrator(scores: npt.NDArray[np.float32], y: Labels) -> Calibrator:
    """Temperature scaling: one divisor for all scores, fitted by likelihood.

    A single temperature keeps the ranking of labels exactly as the linear model made it (a
    full matrix calibration changed the top label of some tickets and cost 0.3 macro-F1 points).
    """
    s = scores.astype(np.float64)
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        z = s / np.exp(log_t)
        z -= z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, y]))

    best = minimize_scalar(nll, bounds=(-6.0, 4.0), method="bounded")
    n = scores.shape[1]
    weight = (np.eye(n) / np.exp(best.x)).astype(np.float32)
    return Calibrator(weight, np.zeros(n, np.float32))


def cross_calibrated(
    scores: npt.NDArray[np.float32], y: Labels, cfg: TrainConfig
) -> npt.NDArray[np.float64]:
    """Calibrated probabilities where each ticket's calibrator never saw that ticket."""
    proba = np.zeros(scores.shape, np.float64)
    folds = StratifiedKFold(cfg.folds, shuffle=True, random_state=cfg.seed + 1)
    for train, test in folds.split(scores, y):
        proba[test] = fit_calibrator(scores[train], y[train])(scores[test])
    return proba
