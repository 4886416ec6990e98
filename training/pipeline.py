"""The training run as steps: load, prepare, evaluate out of sample, hold out, fit, export.

Out-of-sample scores come from k-fold cross-validation (k fits, then a hold-out fit and the
final fit) up to `cv_max_examples`, and from one validation split above it (one fit, which is
also the final model): a year of outcomes is hundreds of thousands of examples.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import train_test_split

from training.config import TrainConfig
from training.fit import (
    Fitted,
    Labels,
    cross_calibrated,
    decision_scores,
    fit_calibrator,
    fit_linear,
    out_of_fold_scores,
    validation_split,
)
from training.holdout import in_holdout, latest_settled
from training.loaders import Example, load_examples
from training.metrics import (
    classification_scores,
    coverage,
    macro_f1,
    per_class_thresholds,
    reliability,
)
from training.report import evaluation_name, model_card, write_metrics, write_plots
from training.texts import text_key, write_trained
from triage.adapters.artifact import save_model
from triage.core.domain import TicketText
from triage.core.model import Model, softmax
from triage.core.text import prepare

Progress = Callable[[str], None]
LIBRARIES = ("numpy", "scipy", "scikit-learn", "jieba", "jieba_fast")


@dataclass(frozen=True)
class Dataset:
    docs: list[TicketText]
    y: Labels
    labels: tuple[str, ...]
    sha256: str
    files: tuple[str, ...]
    held_out: int = 0
    settled_until: str | None = None
    text_keys: frozenset[str] = frozenset()


def prepare_data(
    examples: Sequence[Example], files: Sequence[Path], holdout_share: float = 0.0
) -> Dataset:
    """Prepared texts and label indexes, without the gate's hold-out (training/holdout.py).

    The examples are put in one canonical order (by prepared text, then label, then settled
    time) before anything else: the same rows in any order, in any files, give the same folds,
    the same thresholds and a byte-identical model.
    """
    pairs = sorted(
        ((prepare(e.title, e.body), e) for e in examples),
        key=lambda p: (p[0].title, p[0].body, p[1].label, p[1].settled_at or ""),
    )
    prepared = [d for d, _ in pairs]
    keep = [not in_holdout(d, holdout_share) for d in prepared]
    docs = [d for d, k in zip(prepared, keep, strict=True) if k]
    examples = [e for (_, e), k in zip(pairs, keep, strict=True) if k]
    labels = tuple(sorted({e.label for e in examples}))
    if len(labels) < 2:
        raise ValueError("training needs at least two labels")
    index = {label: i for i, label in enumerate(labels)}
    h = hashlib.sha256()
    for d, e in zip(docs, examples, strict=True):
        h.update(json.dumps([d.title, d.body, e.label], ensure_ascii=False).encode())
    y = np.asarray([index[e.label] for e in examples], np.int64)
    try:
        settled_until = latest_settled([e.settled_at for e in examples])
    except ValueError as exc:
        raise ValueError(f"settled_at: {exc}") from exc
    return Dataset(
        docs,
        y,
        labels,
        h.hexdigest(),
        tuple(str(f) for f in files),
        held_out=len(prepared) - len(docs),
        settled_until=settled_until,
        text_keys=frozenset(text_key(d) for d in docs),
    )


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@dataclass(frozen=True)
class OutOfSample:
    """Scores of examples by models that never trained on them, and how they were obtained."""

    y: Labels
    scores: npt.NDArray[np.float32]
    proba: npt.NDArray[np.float64]  # cross-calibrated: no example's calibrator saw it
    method: dict[str, Any]
    fitted: Fitted | None = None  # the validation split's model, which is also the final one


def uses_validation_split(n_examples: int, cfg: TrainConfig) -> bool:
    return n_examples > cfg.cv_max_examples


def planned_steps(n_examples: int, cfg: TrainConfig, *, repeats: int, compare: bool) -> int:
    """How many times `train` reports progress."""
    if uses_validation_split(n_examples, cfg):
        return 4 + (6 if compare else 0)
    return 4 + cfg.folds * (repeats + (3 if compare else 0))


def out_of_sample(data: Dataset, cfg: TrainConfig, progress: Progress) -> OutOfSample:
    """Cross-validation up to `cv_max_examples` examples, one validation split above."""
    if not uses_validation_split(len(data.y), cfg):
        scores = out_of_fold_scores(data.docs, data.y, len(data.labels), cfg, progress)
        method = {"method": "cross-validation", "folds": cfg.folds, "n": len(data.y)}
        return OutOfSample(data.y, scores, cross_calibrated(scores, data.y, cfg), method)
    train_idx, valid = validation_split(data.y, cfg.validation_share, cfg.seed)
    progress("fit")
    fitted = fit_linear([data.docs[i] for i in train_idx], data.y[train_idx], len(data.labels), cfg)
    progress("validate")
    scores = decision_scores(fitted, [data.docs[i] for i in valid])
    y = data.y[valid]
    method = {
        "method": "validation",
        "share": cfg.validation_share,
        "n": len(valid),
        "trained_on": len(train_idx),
    }
    return OutOfSample(y, scores, cross_calibrated(scores, y, cfg), method, fitted)


def repeated_cv(
    data: Dataset,
    cfg: TrainConfig,
    scores: npt.NDArray[np.float32],
    repeats: int,
    progress: Progress,
) -> dict[str, Any]:
    """Macro-F1 of the same cross-validation with `repeats` different fold seeds.

    How the tickets fall into folds alone moves macro-F1 by a few thousandths on this data, so
    one figure cannot tell two configurations apart; the spread over seeds says how far it can.
    `scores` are the out-of-fold scores already computed with the configured seed. A temperature
    never changes which label is on top, so raw scores give the same F1 as probabilities.
    """
    seeds = [cfg.seed + i for i in range(repeats)]
    f1s = [macro_f1(data.y, scores.argmax(axis=1), len(data.labels))]
    for seed in seeds[1:]:

        def tagged(step: str, seed: int = seed) -> None:
            progress(f"seed {seed} {step}")

        again = out_of_fold_scores(
            data.docs, data.y, len(data.labels), replace(cfg, seed=seed), tagged
        )
        f1s.append(macro_f1(data.y, again.argmax(axis=1), len(data.labels)))
    return {
        "seeds": seeds,
        "macro_f1": [round(f, 4) for f in f1s],
        "mean": round(float(np.mean(f1s)), 4),
        "sd": round(float(np.std(f1s, ddof=1)), 4),
        "min": round(min(f1s), 4),
        "max": round(max(f1s), 4),
    }


def holdout_scores(
    data: Dataset, cfg: TrainConfig, temperature_model: Model, progress: Progress
) -> dict[str, Any] | None:
    if cfg.holdout <= 0:
        return None
    progress("hold-out")
    train, test = train_test_split(
        np.arange(len(data.y)), test_size=cfg.holdout, stratify=data.y, random_state=cfg.seed
    )
    fitted = fit_linear([data.docs[i] for i in train], data.y[train], len(data.labels), cfg)
    proba = temperature_model.calibrator(decision_scores(fitted, [data.docs[i] for i in test]))
    scores = classification_scores(data.y[test], proba, data.labels)
    scores.pop("confusion")
    return scores


def train(
    paths: Sequence[Path],
    out: Path | None,
    cfg: TrainConfig,
    *,
    compare: bool = False,
    repeats: int = 1,
    progress: Progress = lambda _: None,
    plan: Callable[[int], None] = lambda _: None,
    models_dir: Path | None = None,
    audit: Mapping[str, Any] | None = None,
) -> tuple[Model, dict[str, Any]]:
    """Write a model folder to `out`, or to `models_dir/<version>`.

    `audit` is the audit of the outcomes trained on (training/audit.py); the manifest keeps
    its verdict, and the reason when it was overruled.

    `plan` hears, once the data is loaded, how many progress steps the run takes.
    """
    progress("load")
    data = prepare_data(load_examples(paths), paths, cfg.gate_holdout)
    if repeats > 1 and uses_validation_split(len(data.y), cfg):
        raise ValueError(
            f"--repeats needs cross-validation, and {len(data.y)} examples are above "
            f"cv_max_examples ({cfg.cv_max_examples}), which use one validation split"
        )
    plan(planned_steps(len(data.y), cfg, repeats=repeats, compare=compare))
    comparison: dict[str, Any] = {}
    if compare:
        for kind in ("char", "word", "char+word"):

            def tagged(step: str, kind: str = kind) -> None:
                progress(f"{kind} {step}")

            run = out_of_sample(data, replace(cfg, features=kind), tagged)
            s = classification_scores(run.y, run.proba, data.labels)
            comparison[kind] = {"macro_f1": s["macro_f1"], "accuracy": s["accuracy"]}
    oos = out_of_sample(data, cfg, progress)
    cv = classification_scores(oos.y, oos.proba, data.labels)
    cv["calibration"] = reliability(oos.y, oos.proba, cfg.calibration_bins)
    if repeats > 1:
        cv["repeated"] = repeated_cv(data, cfg, oos.scores, repeats, progress)
    thresholds = per_class_thresholds(
        oos.y, oos.proba, data.labels, cfg.target_precision, cfg.min_threshold_support
    )
    created = datetime.now(UTC)
    config_hash = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True).encode()).hexdigest()
    version = f"{cfg.features.replace('+', '')}-{created:%Y%m%d}-{data.sha256[:4]}{config_hash[:4]}"
    fitted = oos.fitted
    if fitted is None:
        progress("final fit")
        fitted = fit_linear(data.docs, data.y, len(data.labels), cfg)
    features, coef, intercept = fitted
    model = Model(
        version=version,
        labels=data.labels,
        features=features,
        coef=coef,
        intercept=intercept,
        calibrator=fit_calibrator(oos.scores, oos.y),
        thresholds=thresholds,
    )
    metrics: dict[str, Any] = {
        "version": version,
        "config": asdict(cfg),
        "data": {
            "files": list(data.files),
            "n": len(data.y),
            "sha256": data.sha256,
            "gate_holdout": {"share": cfg.gate_holdout, "held_out": data.held_out},
            "settled_until": data.settled_until,
            "label_counts": dict(Counter(data.labels[i] for i in data.y)),
        },
        "vocabulary": model.features.size,
        # Out-of-sample scores; `evaluation` says whether they come from k folds or a split.
        "evaluation": oos.method,
        "cv": cv,
        "holdout": holdout_scores(data, cfg, model, progress) if oos.fitted is None else None,
        "coverage": coverage(oos.y, oos.proba, data.labels, thresholds),
        "comparison": comparison,
    }
    manifest = {
        "created_at": created.isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "data": {
            "sha256": data.sha256,
            "n": len(data.y),
            "files": list(data.files),
            # What the promotion gate needs to score this model only on data it never saw.
            "gate_holdout": cfg.gate_holdout,
            "settled_until": data.settled_until,
        },
        "target_precision": cfg.target_precision,
        "audit": None
        if audit is None
        else {
            "reference": audit.get("reference"),
            "outcomes": audit.get("outcomes"),
            "passed": audit.get("passed"),
            "flagged": audit.get("flagged"),
            "forced": audit.get("forced"),
        },
        "metrics": {
            "evaluation": evaluation_name(metrics),
            "cv_macro_f1": cv["macro_f1"],
            "cv_accuracy": cv["accuracy"],
            "ece": cv["calibration"]["ece"],
            "coverage": metrics["coverage"]["coverage"],
            "holdout_macro_f1": (metrics["holdout"] or {}).get("macro_f1"),
        },
    }
    progress("export")
    if out is None:
        if models_dir is None:
            raise ValueError("train needs an output folder or a models folder")
        out = models_dir / version
    folder = save_model(model, out, manifest)
    write_trained(folder, data.text_keys)
    write_metrics(folder, metrics)
    write_plots(folder, metrics, data.labels)
    written = json.loads((folder / "manifest.json").read_text("utf-8"))
    (folder / "MODEL_CARD.md").write_text(model_card(written, metrics), "utf-8")
    return model, metrics


def evaluate(model: Model, examples: Sequence[Example]) -> dict[str, Any]:
    """The figures `triage evaluate --json` prints."""
    docs = [prepare(e.title, e.body) for e in examples]
    known = {label: i for i, label in enumerate(model.labels)}
    unknown = sorted({e.label for e in examples} - set(known))
    labels = (*model.labels, *unknown)
    y = np.asarray([known.get(e.label, labels.index(e.label)) for e in examples], np.int64)
    proba = model.probabilities(docs)
    if unknown:  # a label the model cannot say is simply always wrong
        proba = np.hstack([proba, np.zeros((len(docs), len(unknown)))])
    result = classification_scores(y, proba, labels)
    result.pop("confusion")
    cov = coverage(y, proba, labels, model.thresholds)
    result["coverage_at_target"] = cov["coverage"]
    result["auto_precision"] = cov["auto_precision"]
    result["target_precision"] = model.manifest.get("target_precision")
    result["ece"] = reliability(y, proba, 10)["ece"]
    result["model_version"] = model.version
    result["unknown_labels"] = unknown
    return result


__all__ = ["evaluate", "softmax", "train"]
