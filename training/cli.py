"""`triage train`: build a model artifact from labelled JSONL, CSV or XLSX files."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

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
        "--against",
        default=None,
        metavar="VERSION",
        help="the model the outcomes are audited against (default: the active model)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="train even if the audit of the outcomes flags a label (needs --reason)",
    )
    p.add_argument("--reason", default=None, help="why the audit is overruled (recorded)")
    p.add_argument(
        "--push",
        action="store_true",
        help="also store the model in the service's model store (MONGODB_URI, TRIAGE_DB), "
        "from which every replica can load it",
    )
    p.add_argument(
        "--activate",
        action="store_true",
        help="make the new model the active one (writes ACTIVE in the models folder); over an "
        "active model only with --force --reason: it skips the gate (use triage models promote)",
    )


def _repeats(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count from 1 to 20")
    return n


def _audit(args: argparse.Namespace, cfg: TrainConfig) -> tuple[dict[str, Any] | None, bool]:
    """The audit of the outcomes among the files, printed; and whether training may go on."""
    from training.audit import AuditLimits, audit, report_lines
    from training.loaders import load_examples
    from triage.adapters.artifact import active_model_path, load_model
    from triage.core.settings import Settings

    examples = load_examples(args.data)
    if not any(e.settled_at is not None for e in examples):
        return None, True
    models = args.models_dir or Settings.from_env().models_dir
    if args.against:
        given = Path(args.against)
        folder = given if (given / "manifest.json").is_file() else models / args.against
    else:
        try:
            folder = active_model_path(models)
        except TriageError:
            print(f"warning: no active model in {models}: the outcomes are not audited")
            return None, True
    result = audit(examples, load_model(folder), AuditLimits.from_config(cfg))
    for line in report_lines(result):
        print(line)
    if result["passed"]:
        return result, True
    if args.force:
        result["forced"] = args.reason
        print(f"audit overruled (--force): {args.reason}")
        return result, True
    print(
        "stopped: the outcomes contradict what is known of "
        f"{', '.join(result['flagged'])}; check those departments' settlements, or train "
        "anyway with --force --reason TEXT"
    )
    return result, False


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

    if args.force and not (args.reason and args.reason.strip()):
        print(
            "triage train: --force needs --reason TEXT, which the manifest records", file=sys.stderr
        )
        return 2
    where = args.models_dir or (args.out.parent if args.out else None)
    if args.activate and where is not None and (where / "ACTIVE").is_file() and not args.force:
        print(
            "triage train: --activate over an active model skips the gate; compare and promote "
            "the new model (triage models promote), or give --force --reason TEXT",
            file=sys.stderr,
        )
        return 2
    try:
        cfg = TrainConfig.load(args.config)
        audited, go_on = _audit(args, cfg)
        if not go_on:
            return 1
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
                audit=audited,
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
        # Not the gate's hold-out: a share of what it trained on, to check the final recipe.
        print(
            f"  training-time validation ({metrics['holdout']['n']} of its training examples, "
            f"not the gate's hold-out): macro-F1 {metrics['holdout']['macro_f1']}"
        )
    print(f"  coverage at precision {cfg.target_precision}: {metrics['coverage']['coverage']:.1%}")
    for kind, s in metrics["comparison"].items():
        print(f"  compare {kind:10s} macro-F1 {s['macro_f1']}")
    return 0
