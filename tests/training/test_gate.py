"""The promotion gate: a fixed hold-out no model trains on, a time split, and the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import TrainConfig
from training.gate import Limits, compare, gate_examples
from training.holdout import in_holdout
from training.loaders import Example, load_examples
from training.pipeline import train
from triage.adapters.artifact import load_model
from triage.core.model import Model
from triage.core.text import prepare

SHARE = 0.3


@pytest.fixture(scope="module")
def gate_config() -> TrainConfig:
    return TrainConfig.load(
        folds=3, holdout=0.0, k_best=3000, min_threshold_support=5, gate_holdout=SHARE
    )


def _write(path: Path, examples: list[Example], **extra: str) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for e in examples:
            row = {"id": e.id, "title": e.title, "body": e.body, "label": e.label, **extra}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def reference(
    corpus: Path, gate_config: TrainConfig, tmp_path_factory: pytest.TempPathFactory
) -> Model:
    out = tmp_path_factory.mktemp("ref") / "m"
    train([corpus], out, gate_config)
    return load_model(out)


def test_holdout_is_fixed_by_text_and_never_trained_on(
    corpus: Path, reference: Model, gate_config: TrainConfig
) -> None:
    """The same texts fall in the hold-out every time, and training leaves exactly those out."""
    examples = load_examples([corpus])
    held = [e for e in examples if in_holdout(prepare(e.title, e.body), SHARE)]
    again = [e for e in examples if in_holdout(prepare(e.title, e.body), SHARE)]
    assert held == again and 0.15 * len(examples) < len(held) < 0.45 * len(examples)
    data = reference.manifest["data"]
    assert data["n"] == len(examples) - len(held)
    assert data["gate_holdout"] == SHARE and data["settled_until"] is None


def test_time_split_keeps_only_newer_outcomes(corpus: Path, reference: Model) -> None:
    """Outcomes settled after what either model trained on count; older ones and base examples
    outside the hold-out do not."""
    examples = [
        e for e in load_examples([corpus]) if not in_holdout(prepare(e.title, e.body), SHARE)
    ]
    old = Example("o", "", examples[0].body, examples[0].label, "2026-11-01T00:00:00+08:00")
    chosen, parts = gate_examples([*examples, old], reference, reference, SHARE)
    assert chosen == [old] and parts["newer_outcomes"] == 1 and parts["holdout"] == 0


def test_same_recipe_passes_and_poisoned_labels_are_refused_by_class(
    corpus: Path, reference: Model, gate_config: TrainConfig, tmp_path: Path
) -> None:
    """A candidate trained the same way passes; one trained on examples of a label moved to
    another is refused, and the verdict names that class."""
    examples = load_examples([corpus])
    data = [e for e in examples if in_holdout(prepare(e.title, e.body), SHARE)]
    limits = Limits.from_config(gate_config)
    same = compare(reference, reference, data, limits)
    assert same["passed"] and same["failures"] == [] and same["macro_f1"]["diff"] == 0
    poisoned = [
        Example(e.id, e.title, e.body, "城乡建设" if e.label == "商贸旅游" else e.label)
        if i % 4
        else e
        for i, e in enumerate(examples)
    ]
    path = _write(tmp_path / "poisoned.jsonl", poisoned)
    train([path], tmp_path / "cand", gate_config)
    candidate = load_model(tmp_path / "cand")
    verdict = compare(candidate, reference, data, limits)
    assert not verdict["passed"]
    assert any(f.startswith("class 商贸旅游: F1") for f in verdict["failures"])
    assert verdict["per_class"]["商贸旅游"]["diff"] < -limits.class_f1_drop
