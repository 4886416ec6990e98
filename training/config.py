"""Every hyperparameter of a training run, and the seed, in one frozen record read from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from triage.core.errors import TriageError

DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"
FEATURE_KINDS = ("char", "word", "char+word")


class ConfigError(TriageError):
    """A training configuration value is missing or out of range; the message names it."""


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 12345
    # features
    features: str = "char"
    title_repeat: int = 3
    char_n_min: int = 1
    char_n_max: int = 3
    word_n_max: int = 2
    word_weight: float = 1.0
    min_df: int = 2
    k_best: int = 40000
    # linear model: LinearSVC and ridge trained on the same features, scores averaged
    svm_c: float = 3.0
    ridge_alpha: float = 0.5
    ridge_share: float = 0.5
    class_weight: str = "balanced"
    # evaluation
    folds: int = 5
    holdout: float = 0.1
    # above this many examples one validation split replaces the k folds: one fit, not k + 2
    cv_max_examples: int = 20000
    validation_share: float = 0.1
    # thresholds
    target_precision: float = 0.95
    min_threshold_support: int = 20
    calibration_bins: int = 10
    # the promotion gate (see training/gate.py): a share of the data no model trains on, and
    # the largest drops in F1 (as fractions: 0.005 is half a point) a candidate may show there
    gate_holdout: float = 0.1
    gate_macro_f1_drop: float = 0.01
    gate_class_f1_drop: float = 0.02
    # what routing does, per label, at the candidate's own thresholds
    gate_coverage_drop: float = 0.10
    gate_auto_precision: float = 0.90
    gate_min_support: int = 8
    gate_min_tickets: int = 4
    # the audit of new outcomes before training (training/audit.py)
    audit_confidence: float = 0.90
    audit_max_share: float = 0.15
    audit_min_count: int = 5

    def __post_init__(self) -> None:
        checks = [
            (self.features in FEATURE_KINDS, "features", f"one of {FEATURE_KINDS}"),
            (self.title_repeat >= 0, "title_repeat", ">= 0"),
            (
                1 <= self.char_n_min <= self.char_n_max <= 3,
                "char_n_min/char_n_max",
                "1 <= min <= max <= 3",
            ),
            (1 <= self.word_n_max <= 3, "word_n_max", "1..3"),
            (self.min_df >= 1, "min_df", ">= 1"),
            (self.k_best >= 1, "k_best", ">= 1"),
            (self.svm_c > 0, "svm_c", "> 0"),
            (self.ridge_alpha > 0, "ridge_alpha", "> 0"),
            (0.0 <= self.ridge_share <= 1.0, "ridge_share", "0..1"),
            (self.class_weight in ("balanced", "none"), "class_weight", "'balanced' or 'none'"),
            (self.folds >= 2, "folds", ">= 2"),
            (0.0 <= self.holdout < 0.5, "holdout", "0 <= holdout < 0.5"),
            (self.cv_max_examples >= 0, "cv_max_examples", ">= 0"),
            (0.0 < self.validation_share < 0.5, "validation_share", "0 < share < 0.5"),
            (0.5 <= self.target_precision < 1.0, "target_precision", "0.5 <= p < 1"),
            (0.0 <= self.gate_holdout < 0.5, "gate_holdout", "0 <= share < 0.5"),
            (0.0 <= self.gate_macro_f1_drop < 1.0, "gate_macro_f1_drop", "0 <= drop < 1"),
            (0.0 <= self.gate_class_f1_drop < 1.0, "gate_class_f1_drop", "0 <= drop < 1"),
            (0.0 <= self.gate_coverage_drop < 1.0, "gate_coverage_drop", "0 <= drop < 1"),
            (0.0 <= self.gate_auto_precision < 1.0, "gate_auto_precision", "0 <= p < 1"),
            (self.gate_min_support >= 1, "gate_min_support", ">= 1"),
            (self.gate_min_tickets >= 1, "gate_min_tickets", ">= 1"),
            (0.5 <= self.audit_confidence < 1.0, "audit_confidence", "0.5 <= p < 1"),
            (0.0 <= self.audit_max_share < 1.0, "audit_max_share", "0 <= share < 1"),
            (self.audit_min_count >= 1, "audit_min_count", ">= 1"),
        ]
        for ok, name, want in checks:
            if not ok:
                raise ConfigError(f"training config: {name} must be {want}")

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> TrainConfig:
        path = DEFAULT_CONFIG if path is None else path
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"training config {path}: {exc}") from exc
        flat: dict[str, Any] = {}
        for value in raw.values() if all(isinstance(v, dict) for v in raw.values()) else [raw]:
            flat.update(value)
        known = {f.name for f in fields(cls)}
        unknown = set(flat) - known
        if unknown:
            raise ConfigError(f"training config {path}: unknown keys {sorted(unknown)}")
        try:
            return replace(cls(**flat), **overrides)
        except TypeError as exc:
            raise ConfigError(f"training config {path}: {exc}") from exc
