"""`triage models compare|promote|push`: the gate between a trained candidate and live
routing, and the model store every replica loads versions from.

    triage models compare CANDIDATE [--against VERSION] --data FILE [FILE ...] [--json]
    triage models promote CANDIDATE --data FILE [FILE ...] [--force --reason TEXT]
    triage models push DIR [--json]

CANDIDATE and VERSION name folders under TRIAGE_MODELS_DIR (or are paths to model folders);
the reference defaults to the active model. The comparison and its data are those of
``training.gate``; its verdict is kept beside the candidate (``gate.json``), so an activation
over HTTP knows it too. ``promote`` activates through MongoDB ``model_activations`` like
``POST /v1/models/{version}/activate``: every replica switches between two batches. Exit codes:
0 passed (and promoted), 1 refused, 2 a wrong argument, file or model, 3 MongoDB unreachable.
``push`` stores a model folder (verified first) in MongoDB GridFS under its version; pushing
a version already stored with the same weights changes nothing (exit 0), with other weights
is refused (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from triage.core.errors import StoreUnavailableError, TriageError
from triage.core.settings import Settings

__all__ = ["add_arguments", "run"]

TIMEOUT_MS = 3_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    push = "store a model folder in MongoDB so that every replica can load it"
    a = sub.add_parser("push", help=push, description=push)
    a.add_argument("folder", type=Path, metavar="DIR", help="a model folder (manifest.json ...)")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    for name, help_text in (
        ("compare", "score a candidate and the reference on the same unseen data"),
        ("promote", "compare with the active model, then activate the candidate if it passes"),
    ):
        a = sub.add_parser(name, help=help_text, description=help_text)
        a.add_argument("candidate", metavar="CANDIDATE", help="a version in the models folder")
        a.add_argument(
            "--data",
            type=Path,
            nargs="+",
            required=True,
            metavar="FILE",
            help="labelled files: the base data (its hold-out counts) and exported outcomes",
        )
        a.add_argument("--config", type=Path, default=None, help="training config (gate limits)")
        a.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "compare":
            a.add_argument("--against", default=None, metavar="VERSION", help="default: active")
        else:
            a.add_argument("--force", action="store_true", help="activate even if refused")
            a.add_argument("--reason", default=None, help="why a forced promotion is needed")


def _folder(models_dir: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_dir() and (path / "manifest.json").is_file() else models_dir / name


def _pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)


def _print_verdict(result: dict[str, Any], parts: dict[str, Any]) -> None:
    after = parts["settled_after"] or "the start"
    print(
        f"candidate {result['candidate']}  reference {result['reference']}\n"
        f"on {result['n']} examples: {parts['holdout']} from the hold-out "
        f"({parts['holdout_share']:.0%} of the files by text hash), "
        f"{parts['newer_outcomes']} outcomes settled after {after}"
    )
    print(f"  {'label':<12}{'n':>6}{'reference':>11}{'candidate':>11}{'diff':>9}")
    for label, row in result["per_class"].items():
        print(
            f"  {_pad(label, 12)}{row['support']:>6}{row['reference']:>11.4f}"
            f"{row['candidate']:>11.4f}{100 * row['diff']:>+8.2f}p"
        )
    m = result["macro_f1"]
    print(
        f"  {'macro-F1':<12}{'':>6}{m['reference']:>11.4f}{m['candidate']:>11.4f}"
        f"{100 * m['diff']:>+8.2f}p"
    )
    for warning in parts["warnings"]:
        print(f"warning: {warning}")
    if result["passed"]:
        print("verdict: passed")
    else:
        print("verdict: refused")
        for failure in result["failures"]:
            print(f"  - {failure}")


def _compare(args: argparse.Namespace, settings: Settings) -> tuple[dict[str, Any], Any]:
    from training.config import TrainConfig
    from training.gate import Limits, compare, gate_examples
    from training.loaders import load_examples
    from training.verdict import write_verdict
    from triage.adapters.artifact import active_model_path, load_model

    cfg = TrainConfig.load(args.config)
    folder = _folder(settings.models_dir, args.candidate)
    candidate = load_model(folder)
    against = getattr(args, "against", None)
    ref_folder = (
        _folder(settings.models_dir, against) if against else active_model_path(settings.models_dir)
    )
    reference = load_model(ref_folder)
    examples, parts = gate_examples(
        load_examples(args.data), candidate, reference, cfg.gate_holdout
    )
    result = compare(candidate, reference, examples, Limits.from_config(cfg))
    result["data"] = {**parts, "files": [str(p) for p in args.data]}
    write_verdict(folder, result)
    return result, parts


async def _promote(
    args: argparse.Namespace, settings: Settings, verdict: dict[str, Any]
) -> dict[str, Any]:
    from triage.adapters.activation import FolderCatalog, ModelSlot, activate, load_folder
    from triage.adapters.artifact import active_model_path
    from triage.adapters.registry_file import load_registry
    from triage.adapters.store import MongoModelFiles, MongoTicketStore

    version = Path(args.candidate).name
    registry = load_registry(settings.departments)
    current = await asyncio.to_thread(load_folder, active_model_path(settings.models_dir))
    store = MongoTicketStore(settings.mongodb_uri, settings.db, timeout_ms=TIMEOUT_MS)
    # Activation stores the candidate in MongoDB first, so every replica can load it.
    catalog = FolderCatalog(settings.models_dir, files=MongoModelFiles(store))
    if catalog.path(version) is None:
        raise TriageError(f"{args.candidate} is not a version in {settings.models_dir}")
    try:
        await store.ping()
        return await activate(
            version,
            slot=ModelSlot(current),
            catalog=catalog,
            store=store,
            verdict=verdict,
            force=args.force,
            reason=args.reason,
            registry_labels=frozenset(registry.labels),
        )
    finally:
        await store.close()


def _run_push(args: argparse.Namespace) -> int:
    from triage.adapters.model_cache import ModelStoreError, push_to_store

    try:
        settings = Settings.from_env()
        version, stored = asyncio.run(
            push_to_store(settings.mongodb_uri, settings.db, args.folder, timeout_ms=TIMEOUT_MS)
        )
    except StoreUnavailableError:
        print("triage models push: MongoDB (MONGODB_URI) did not answer", file=sys.stderr)
        return 3
    except ModelStoreError as exc:
        print(f"triage models push: {exc}", file=sys.stderr)
        return 1
    except TriageError as exc:
        print(f"triage models push: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"version": version, "stored": stored}, ensure_ascii=False))
    elif stored:
        print(f"stored {version} in the model store of {settings.db}")
    else:
        print(f"{version} is already in the model store of {settings.db}; nothing to do")
    return 0


def run(args: argparse.Namespace) -> int:
    from triage.service.logs import configure

    # Standard output is the verdict (or its JSON); the activation's own log lines go apart.
    configure("WARNING", json=False)
    if args.action == "push":
        return _run_push(args)
    name = f"triage models {args.action}"
    promote = args.action == "promote"
    if promote and args.force and not (args.reason and args.reason.strip()):
        print(f"{name}: --force needs --reason TEXT, which the history records", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        result, parts = _compare(args, settings)
    except TriageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    out: dict[str, Any] = dict(result)
    if not args.json:
        _print_verdict(result, parts)
    code = 0 if result["passed"] else 1
    if promote and (result["passed"] or args.force):
        from triage.adapters.activation import ActivationError

        try:
            out["activation"] = asyncio.run(_promote(args, settings, result))
        except StoreUnavailableError:
            print(f"{name}: MongoDB (MONGODB_URI) did not answer; not promoted", file=sys.stderr)
            return 3
        except ActivationError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
        except TriageError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        code = 0
        if not args.json:
            a = out["activation"]
            forced = f", forced: {args.reason}" if args.force else ""
            print(
                f"promoted {a['active']} (activation {a['activation']}, "
                f"replacing {a['previous']}{forced})"
            )
    elif promote and not args.json:
        print("not promoted (use --force --reason TEXT to promote anyway)")
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    return code
