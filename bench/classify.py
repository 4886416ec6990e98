"""Classifier benchmark: raw ticket text to top-3 labels with evidence, on one core.

Prints a table and writes JSON with tickets_per_s (batches of 256), p50_ms and p99_ms for a
single ticket, train_seconds, rss_mb of the process with the model loaded, and in the same run
the plain reference (jieba word TF-IDF + LinearSVC, nothing more) as baseline_tickets_per_s.

    python bench/classify.py --json bench/out/classify.json [--model DIR] [--data FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "messages" / "train.jsonl"
SAMPLES = ROOT / "samples" / "tickets.jsonl"
BATCH = 256


def load_texts(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [
        {"title": r.get("title") or "", "body": r["body"], "label": r.get("label")} for r in rows
    ]


def pin_one_core() -> None:
    """One core, as the figures promise (numpy and scipy are imported lazily, after this)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def bench_model(model_dir: Path | None, rows: list[dict[str, Any]]) -> dict[str, Any]:
    import numpy as np
    import psutil

    from triage.adapters.artifact import load_model
    from triage.core.text import prepare

    proc = psutil.Process()
    before = proc.memory_info().rss
    model = load_model(model_dir)
    model.predict([prepare("暖机", "加载后第一次预测")])
    loaded = proc.memory_info().rss

    def run_batches() -> float:
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            chunk = rows[i : i + BATCH]
            model.predict([prepare(r["title"], r["body"]) for r in chunk], k=3, n_evidence=5)
        return len(rows) / (time.perf_counter() - start)

    rate = max(run_batches() for _ in range(3))
    latencies = []
    for r in rows[:2000]:
        start = time.perf_counter()
        model.predict([prepare(r["title"], r["body"])], k=3, n_evidence=5)
        latencies.append((time.perf_counter() - start) * 1000)
    return {
        "tickets_per_s": round(rate, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p99_ms": round(float(np.percentile(latencies, 99)), 3),
        "rss_mb": round(proc.memory_info().rss / 2**20, 1),
        "model_rss_mb": round((loaded - before) / 2**20, 1),
        "model_version": model.version,
    }


def bench_training(rows: list[dict[str, Any]]) -> float:
    """One fit of the shipped configuration on every labelled row (no cross-validation)."""
    import numpy as np

    from training.config import TrainConfig
    from training.fit import fit_linear
    from triage.core.text import prepare

    labelled = [r for r in rows if r["label"]]
    labels = sorted({r["label"] for r in labelled})
    y = np.asarray([labels.index(r["label"]) for r in labelled])
    docs = [prepare(r["title"], r["body"]) for r in labelled]
    start = time.perf_counter()
    fit_linear(docs, y, len(labels), TrainConfig.load())
    return time.perf_counter() - start


def bench_baseline(rows: list[dict[str, Any]]) -> float:
    """The reference: jieba words, TF-IDF 1-2 grams, LinearSVC; top-3 by decision score."""
    import jieba
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    jieba.setLogLevel(60)
    labelled = [r for r in rows if r["label"]]
    texts = [r["title"] + " " + r["body"] for r in labelled]
    vec = TfidfVectorizer(
        tokenizer=jieba.lcut,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
    )
    clf = LinearSVC().fit(vec.fit_transform(texts), [r["label"] for r in labelled])
    start = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        scores = clf.decision_function(vec.transform(texts[i : i + BATCH]))
        np.argsort(-scores, axis=1)[:, :3]
    return len(texts) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True, metavar="OUT")
    parser.add_argument(
        "--model",
        type=Path,
        default=ROOT / "models",
        help="model folder, or a models folder holding ACTIVE (default: the checkout's active)",
    )
    parser.add_argument("--data", type=Path, default=SHARED if SHARED.is_file() else SAMPLES)
    args = parser.parse_args()
    pin_one_core()
    rows = load_texts(args.data)
    result: dict[str, Any] = {"data": str(args.data), "n": len(rows), "batch": BATCH}
    result.update(bench_model(args.model, rows))
    result["train_seconds"] = round(bench_training(rows), 2)
    result["baseline_tickets_per_s"] = round(bench_baseline(rows), 1)
    result["speedup_vs_baseline"] = round(
        result["tickets_per_s"] / result["baseline_tickets_per_s"], 2
    )
    width = max(len(k) for k in result)
    print(f"{'measure':<{width}}  value")
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
