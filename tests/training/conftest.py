"""A small labelled corpus written for this project (samples/), and a model trained on it once."""

import json
from pathlib import Path

import pytest

from training.config import TrainConfig
from training.pipeline import train
from triage.core.model import Model

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = {}
    for line in (SAMPLES / "tickets_labels.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        labels[row["ticket_id"]] = row["label"]
    out = tmp_path_factory.mktemp("corpus") / "labelled.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for line in (SAMPLES / "tickets.jsonl").read_text("utf-8").splitlines():
            t = json.loads(line)
            row = {
                "id": t["ticket_id"],
                "title": t.get("title") or "",
                "body": t["body"],
                "label": labels[t["ticket_id"]],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


@pytest.fixture(scope="session")
def small_config() -> TrainConfig:
    return TrainConfig.load(
        folds=3, holdout=0.2, k_best=3000, min_threshold_support=5, gate_holdout=0.0
    )


@pytest.fixture(scope="session")
def trained(
    corpus: Path, small_config: TrainConfig, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Model, dict[str, object], Path]:
    out = tmp_path_factory.mktemp("models") / "small"
    model, metrics = train([corpus], out, small_config)
    return model, metrics, out
