"""End to end: train on a small corpus, export, load, evaluate from the command line."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from training.config import TrainConfig
from training.fit import validation_split
from training.pipeline import train
from triage.adapters.artifact import load_model
from triage.core.domain import TicketText
from triage.core.model import Model
from triage.service.cli import main


def test_training_writes_every_artifact(trained: tuple[Model, dict[str, object], Path]) -> None:
    """Weights, manifest, metrics, model card and both plots are written."""
    _, _, out = trained
    for name in (
        "weights.npz",
        "manifest.json",
        "metrics.json",
        "MODEL_CARD.md",
        "confusion.png",
        "reliability.png",
    ):
        assert (out / name).is_file(), name
    card = (out / "MODEL_CARD.md").read_text("utf-8")
    assert "macro-F1" in card and "Thresholds and coverage" in card and "scikit-learn" in card


def test_metrics_hold_cv_holdout_thresholds(trained: tuple[Model, dict[str, object], Path]) -> None:
    """metrics.json reports CV and hold-out scores, calibration error, thresholds and coverage."""
    _, _, out = trained
    m = json.loads((out / "metrics.json").read_text("utf-8"))
    assert m["cv"]["n"] == 280 and 0.5 < m["cv"]["macro_f1"] <= 1.0
    assert 0 <= m["cv"]["calibration"]["ece"] < 0.5
    assert m["holdout"]["n"] == 56
    assert 0 <= m["coverage"]["coverage"] <= 1
    assert m["config"]["seed"] == 12345


def test_saved_model_predicts_like_the_trained_one(
    trained: tuple[Model, dict[str, object], Path],
) -> None:
    """Load gives the same probabilities as the model in memory."""
    model, _, out = trained
    docs = [TicketText("", "小区夜间施工噪音扰民"), TicketText("欠薪", "公司拖欠工资三个月")]
    loaded = load_model(out)
    assert loaded.version == model.version
    a, b = model.predict(docs), loaded.predict(docs)
    assert [p.top for p in a] == [p.top for p in b]


def test_prediction_has_topk_evidence_and_spans(
    trained: tuple[Model, dict[str, object], Path],
) -> None:
    """Top-k is sorted, sums below 1, and every evidence span points at its term in the text."""
    model, _, _ = trained
    doc = TicketText("工资", "公司拖欠工资三个月，老板不接电话，要求劳动监察处理")
    (p,) = model.predict([doc], k=3, n_evidence=5)
    assert len(p.top) == 3
    probs = [s.probability for s in p.top]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-6
    assert p.label == "劳动和社会保障"
    assert p.evidence and all(e.weight > 0 for e in p.evidence)
    for e in p.evidence:
        for s in e.spans:
            text = doc.title if s.field == "title" else doc.body
            assert text[s.start : s.end] == e.term


def test_empty_batch_predicts_nothing(trained: tuple[Model, dict[str, object], Path]) -> None:
    """An empty batch is an empty answer, not an error."""
    assert trained[0].predict([]) == []


def test_evaluate_command_prints_one_json_object(
    trained: tuple[Model, dict[str, object], Path], corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`triage evaluate --model DIR --data FILE --json` prints the contracted keys."""
    _, _, out = trained
    assert main(["evaluate", "--model", str(out), "--data", str(corpus), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("n", "accuracy", "macro_f1", "per_class", "coverage_at_target"):
        assert key in result
    assert result["n"] == 280 and result["accuracy"] > 0.9  # it saw these tickets in training
    assert set(result["per_class"]["教育文体"]) == {"precision", "recall", "f1", "support"}


def test_train_command_reports_bad_input_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad line stops training with one message naming file and line; exit code 2."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "a", "label": "x"}\n{oops\n', "utf-8")
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert f"{bad}:2: invalid JSON" in capsys.readouterr().err


def test_train_command_repeats_cross_validation_over_fold_seeds(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--repeats 3 reports macro-F1 per fold seed, its spread, in metrics.json and the card."""
    out = tmp_path / "m"
    assert main(["train", "--data", str(corpus), "--out", str(out), "--repeats", "3"]) == 0
    assert "over 3 fold seeds: macro-F1" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    repeated = metrics["cv"]["repeated"]
    seed = metrics["config"]["seed"]
    assert repeated["seeds"] == [seed, seed + 1, seed + 2]
    assert len(repeated["macro_f1"]) == 3
    assert repeated["macro_f1"][0] == metrics["cv"]["macro_f1"]  # the configured seed's run
    assert repeated["min"] <= repeated["mean"] <= repeated["max"]
    assert "with 3 fold seeds" in (out / "MODEL_CARD.md").read_text("utf-8")


@pytest.mark.parametrize("value", ["0", "21", "two"])
def test_train_command_refuses_a_bad_repeat_count(
    corpus: Path, tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(corpus), "--out", str(tmp_path / "m"), "--repeats", value])
    assert exit_.value.code == 2
    assert "--repeats" in capsys.readouterr().err


def test_large_data_is_fitted_once_on_a_validation_split(
    corpus: Path, small_config: TrainConfig, tmp_path: Path
) -> None:
    """Above cv_max_examples one stratified validation split replaces the folds: one fit, which
    is the final model, scored, calibrated and thresholded on the split; the card says so."""
    steps: list[str] = []
    planned: list[int] = []
    cfg = replace(small_config, cv_max_examples=100, validation_share=0.2)
    model, metrics = train(
        [corpus], tmp_path / "m", cfg, progress=steps.append, plan=planned.append
    )
    evaluation = metrics["evaluation"]
    assert evaluation["method"] == "validation"
    assert evaluation["n"] + evaluation["trained_on"] == 280
    assert 50 <= evaluation["n"] <= 62  # a fifth of each of the labels, rounded
    assert metrics["cv"]["n"] == evaluation["n"] and metrics["holdout"] is None
    assert steps == ["load", "fit", "validate", "export"] and planned == [len(steps)]
    per_label = metrics["cv"]["per_class"]
    assert all(p["support"] >= 1 for p in per_label.values())
    card = (tmp_path / "m" / "MODEL_CARD.md").read_text("utf-8")
    assert f"validation split: {evaluation['n']} examples" in card
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text("utf-8"))
    assert manifest["metrics"]["evaluation"].startswith("validation split")
    (p,) = model.predict([TicketText("欠薪", "公司拖欠工资三个月")])
    assert p.label == "劳动和社会保障"


def test_cross_validation_up_to_the_limit(trained: tuple[Model, dict[str, object], Path]) -> None:
    """At or below cv_max_examples the k folds run as before, with a hold-out fit."""
    _, metrics, _ = trained
    assert metrics["evaluation"] == {"method": "cross-validation", "folds": 3, "n": 280}


def test_repeats_need_cross_validation(
    corpus: Path, small_config: TrainConfig, tmp_path: Path
) -> None:
    cfg = replace(small_config, cv_max_examples=100)
    with pytest.raises(ValueError, match="--repeats needs cross-validation"):
        train([corpus], tmp_path / "m", cfg, repeats=2)
    assert not (tmp_path / "m").exists()


def test_validation_split_keeps_every_label_in_training() -> None:
    """A share of each label to validation; a label seen once stays in training; disjoint."""
    y = np.asarray([0] * 50 + [1] * 9 + [2] * 2 + [3], np.int64)
    train_idx, valid = validation_split(y, 0.1, seed=7)
    assert sorted([*train_idx.tolist(), *valid.tolist()]) == list(range(len(y)))
    assert np.bincount(y[valid], minlength=4).tolist() == [5, 1, 1, 0]
    assert set(y[train_idx].tolist()) == {0, 1, 2, 3}
    again = validation_split(y, 0.1, seed=7)
    assert again[1].tolist() == valid.tolist()
