"""The promotion gate's data and verdicts: a fixed hold-out no model trains on, outcomes only
when neither model saw their text, verdicts kept per reference, and order-free training."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.config import TrainConfig
from training.gate import Limits, compare, gate_examples
from training.holdout import in_holdout
from training.loaders import Example, load_examples
from training.pipeline import train
from training.texts import read_trained, text_key
from training.verdict import read_verdict, read_verdicts, write_verdict
from triage.adapters.artifact import load_model
from triage.core.model import Model
from triage.core.text import prepare

SHARE = 0.3
SETTLED = "2026-12-01T10:00:00+08:00"


@pytest.fixture(scope="module")
def gate_config() -> TrainConfig:
    return TrainConfig.load(
        folds=3, holdout=0.0, k_best=3000, min_threshold_support=5, gate_holdout=SHARE
    )


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
    """The same texts fall in the hold-out every time, training leaves exactly those out, and
    the model keeps the keys of the texts it did train on."""
    examples = load_examples([corpus])
    held = [e for e in examples if in_holdout(prepare(e.title, e.body), SHARE)]
    again = [e for e in examples if in_holdout(prepare(e.title, e.body), SHARE)]
    assert held == again and 0.15 * len(examples) < len(held) < 0.45 * len(examples)
    data = reference.manifest["data"]
    assert data["n"] == len(examples) - len(held)
    assert data["gate_holdout"] == SHARE and data["settled_until"] is None
    trained = read_trained(reference.path)
    assert trained is not None
    assert all(text_key(prepare(e.title, e.body)) not in trained for e in held)


def test_only_texts_neither_model_trained_on_count_once_each(
    corpus: Path, reference: Model
) -> None:
    """Base rows outside the hold-out and outcomes whose text a model trained on (however
    recently settled) are left out; a text given twice with other spacing counts once; a
    text given with two labels not at all."""
    examples = load_examples([corpus])
    seen = next(e for e in examples if not in_holdout(prepare(e.title, e.body), SHARE))
    fresh = Example(
        "new-1", "", "小区门口的路灯坏了一个月，晚上出行很不方便。", "城乡建设", SETTLED
    )
    spaced = Example(
        "new-2", "", "小区门口的路灯坏了一个月， 晚上出行 很不方便。", "城乡建设", SETTLED
    )
    torn = Example("new-3", "", "学校门口的公交站牌被撞倒了。", "交通运输", SETTLED)
    torn_too = Example("new-4", "", "学校门口的公交站牌被撞倒了。", "教育文体", SETTLED)
    trained_outcome = Example("old-1", seen.title, seen.body, seen.label, SETTLED)
    parts, info = gate_examples(
        [*examples, trained_outcome, fresh, spaced, torn, torn_too], reference, reference, SHARE
    )
    held = [e for e in examples if in_holdout(prepare(e.title, e.body), SHARE)]
    assert {e.id for e in parts["holdout"]} <= {e.id for e in held}
    assert len(parts["holdout"]) >= len(held) - 5
    assert [e.id for e in parts["outcomes"]] == ["new-1"]
    assert info["left_out"]["trained_on"] >= len(examples) - len(held)
    assert info["left_out"]["two_labels"] >= 1 and info["warnings"] == []


def test_same_model_passes_with_routing_figures_per_part(
    corpus: Path, reference: Model, gate_config: TrainConfig
) -> None:
    """A model against itself passes, and the verdict carries per label F1, coverage and
    auto-routed precision for each part, bound to the reference's weights."""
    parts, _ = gate_examples(load_examples([corpus]), reference, reference, SHARE)
    verdict = compare(reference, reference, parts, Limits.from_config(gate_config))
    assert verdict["passed"] and verdict["failures"] == [] and verdict["refused_labels"] == []
    assert verdict["reference_sha256"] == reference.manifest["weights_sha256"]
    row = next(iter(verdict["parts"]["holdout"]["per_class"].values()))
    assert {"f1", "coverage", "auto_precision", "support"} <= set(row)
    assert row["coverage"]["diff"] == 0 and "outcomes" not in verdict["parts"]


def test_verdicts_are_kept_per_reference(tmp_path: Path) -> None:
    """A pass against an older reference is added beside a refusal against the active one,
    never over it; a new verdict against the same reference replaces that one."""
    refused = {"reference": "v1", "reference_sha256": "1" * 64, "passed": False, "at": "1"}
    older = {"reference": "v0", "reference_sha256": "0" * 64, "passed": True, "at": "2"}
    write_verdict(tmp_path, refused)
    write_verdict(tmp_path, older)
    assert read_verdicts(tmp_path) == [refused, older] and read_verdict(tmp_path) == older
    again = {**refused, "passed": True, "at": "3"}
    write_verdict(tmp_path, again)
    assert read_verdicts(tmp_path) == [older, again]
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "gate.json").write_text(json.dumps(refused))
    assert read_verdicts(legacy) == [refused]


def test_same_rows_in_any_order_give_a_byte_identical_model(
    corpus: Path, gate_config: TrainConfig, tmp_path: Path
) -> None:
    """Training on the same rows reversed and split over two files gives the same weights
    file, byte for byte, and the same thresholds."""
    lines = corpus.read_text("utf-8").splitlines()
    (tmp_path / "b.jsonl").write_text("\n".join(lines[::-1][:100]) + "\n", "utf-8")
    (tmp_path / "a.jsonl").write_text("\n".join(lines[::-1][100:]) + "\n", "utf-8")
    first, _ = train([corpus], tmp_path / "one", gate_config)
    second, _ = train([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "two", gate_config)
    one = (tmp_path / "one" / "weights.npz").read_bytes()
    assert one == (tmp_path / "two" / "weights.npz").read_bytes()
    assert first.thresholds == second.thresholds and first.version == second.version


def test_train_activate_over_an_active_model_needs_force(corpus: Path, tmp_path: Path) -> None:
    """`triage train --activate` would skip the gate over an active model: refused (exit 2)
    before training unless forced with a reason."""
    (tmp_path / "ACTIVE").write_text("v1\n")
    args = ["train", "--data", str(corpus), "--models-dir", str(tmp_path), "--activate"]
    done = subprocess.run(
        [sys.executable, "-m", "triage", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "skips the gate" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["ACTIVE"]
