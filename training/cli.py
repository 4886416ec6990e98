"""`triage train`: build a model artifact from labelled JSONL, CSV or XLSX files."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from tqdm import tqdm

from training.config import TrainConfig
from triage.core.errors import TriageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        type=Path,
        nargs="+",
        required=True,
        metavar="FILE",
        help="labelled files (.jsonl, .csv, .tsv, .xlsx)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="DIR", help="model folder to write")
    where.add_argument(
        "--models-dir",
        type=Path,
        metavar="DIR",
        help="write the model to DIR/<version> (e.g. models/)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="training config (TOML); default training/default.toml",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="also cross-validate word, char and char+word features and report them",
    )
    p.add_argument(
        "--repeats",
        type=_repeats,
        default=1,
        metavar="N",
        help="repeat the cross-validation with N fold seeds and report the spread of macro-F1",
    )
    p.add_argument(
        "--push",
        action="store_true",
        help="also store the model in the service's model store (MONGODB_URI, TRIAGE_DB), "
        "from which every replica can load it",
    )
    p.add_argument(
        "--activate",
        action="store_true",
        help="make the new model the active one (writes ACTIVE in the models folder)",
    )


def _repeats(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count from 1 to 20")
    return n


def _push(folder: Path) -> bool:
    from triage.adapters.model_cache import push_to_store
    from triage.core.errors import StoreUnavailableError
    from triage.core.settings import Settings

    settings = Settings.from_env()
    try:
        version, _ = asyncio.run(push_to_store(settings.mongodb_uri, settings.db, folder))
    except StoreUnavailableError:
        print("triage train: MongoDB (MONGODB_URI) did not answer; not stored", file=sys.stderr)
        return False
    except TriageError as exc:
        print(f"triage train: not stored: {exc}", file=sys.stderr)
        return False
    print(f"  stored {version} in the model store of {settings.db}")
    return True


def run(args: argparse.Namespace) -> int:
    from training.pipeline import train
    from training.report import evaluation_name

    try:
        cfg = TrainConfig.load(args.config)
        started = time.perf_counter()
        with tqdm(total=1, desc="train", unit="step", file=sys.stderr) as bar:

            def progress(step: str) -> None:
                bar.set_postfix_str(step)
                bar.update(1)

            def plan(steps: int) -> None:
                bar.total = steps
                bar.refresh()

            model, metrics = train(
                args.data,
                args.out,
                cfg,
                compare=args.compare,
                repeats=args.repeats,
                progress=progress,
                plan=plan,
                models_dir=args.models_dir,
            )
    except (TriageError, ValueError) as exc:
        print(f"triage train: {exc}", file=sys.stderr)
        return 2
    out = args.out or args.models_dir / model.version
    if args.activate:
        (out.parent / "ACTIVE").write_text(out.name + "\n", "utf-8")
    cv = metrics["cv"]
    print(f"model {model.version} written to {out} in {time.perf_counter() - started:.0f} s")
    if args.push and not _push(out):
        return 3
    print(
        f"  {evaluation_name(metrics)}: macro-F1 {cv['macro_f1']}  accuracy {cv['accuracy']}  "
        f"ECE {cv['calibration']['ece']}"
    )
    if "repeated" in cv:
        r = cv["repeated"]
        print(
            f"  over {len(r['seeds'])} fold seeds: macro-F1 {r['mean']} +/- {r['sd']} "
            f"(min {r['min']}, max {r['max']})"
        )
    if metrics["holdout"]:
        print(f"  hold-out ({metrics['holdout']['n']}): macro-F1 {metrics['holdout']['macro_f1']}")
    print(f"  coverage at precision {cfg.target_precision}: {metrics['coverage']['coverage']:.1%}")
    for kind, s in metrics["comparison"].items():
        print(f"  compare {kind:10s} macro-F1 {s['macro_f1']}")
    return 0
