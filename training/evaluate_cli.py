"""`triage evaluate`: score a model (default: the active one) on a labelled file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from triage.core.errors import TriageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="model folder; default the active model (models/ACTIVE)",
    )
    p.add_argument("--data", type=Path, nargs="+", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from training.loaders import load_examples
    from training.pipeline import evaluate
    from triage.adapters.artifact import load_model

    try:
        result = evaluate(load_model(args.model), load_examples(args.data))
    except TriageError as exc:
        print(f"triage evaluate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(
        f"model {result['model_version']}  n={result['n']}  accuracy {result['accuracy']}  "
        f"macro-F1 {result['macro_f1']}  coverage {result['coverage_at_target']:.1%}"
    )
    for label, s in result["per_class"].items():
        print(
            f"  {label:10s} P {s['precision']:.3f}  R {s['recall']:.3f}  "
            f"F1 {s['f1']:.3f}  n {s['support']}"
        )
    return 0
