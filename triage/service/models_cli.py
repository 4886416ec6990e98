"""`triage models compare|promote|push`: the gate between a trained candidate and live
routing, and the model store every replica loads versions from.

    triage models compare CANDIDATE [--against VERSION] --data FILE [FILE ...]
                          [--force --reason TEXT] [--json]
    triage models promote CANDIDATE --data FILE [FILE ...] [--force --reason TEXT]
    triage models push DIR [--json]

CANDIDATE and VERSION name folders under TRIAGE_MODELS_DIR (or are paths to model folders);
the reference defaults to the active model. Outcomes among the files are audited first
(``training.audit``): when the audit flags a label, the comparison stops refused unless
``--force --reason`` is given. The comparison and its data are those of ``training.gate``;
its verdict, bound to the reference's version and weights, is kept beside the candidate
(``gate.json``), so an activation over HTTP knows it too. ``promote`` activates through
MongoDB ``model_activations`` like ``POST /v1/models/{version}/activate``: every replica
switches between two batches. Exit codes: 0 passed (and promoted), 1 refused, 2 a wrong
argument, file or model, 3 MongoDB unreachable.
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
            a.add_argument(
                "--force", action="store_true", help="compare even if the audit flags outcomes"
            )
        else:
            a.add_argument(
                "--force",
                action="store_true",
                help="compare even if the audit flags outcomes, and activate even if refused",
            )
        a.add_argument("--reason", default=None, help="why forcing is needed (recorded)")


def _folder(models_dir: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_dir() and (path / "manifest.json").is_file() else models_dir / name


def _pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)


def _print_part(title: str, part: dict[str, Any]) -> None:
    print(f"{title}: {part['n']} examples")
    print(
        f"  {'label':<16}{'n':>5}{'F1 ref':>9}{'cand':>8}{'coverage ref':>14}{'cand':>8}"
        f"{'auto-routed precision':>23}"
    )
    for label, row in part["per_class"].items():
        f1, cov, prec = row["f1"], row["coverage"], row["auto_precision"]
        precision = "-" if prec["candidate"] is None else f"{prec['candidate']:.1%}"
        print(
            f"  {_pad(label, 16)}{row['support']:>5}{f1['reference']:>9.4f}{f1['candidate']:>8.4f}"
            f"{cov['reference']:>14.1%}{cov['candidate']:>8.1%}"
            f"{precision + ' of ' + str(prec['auto_routed']):>23}"
        )
    m, c = part["macro_f1"], part["coverage"]
    print(
        f"  {'all':<16}{part['n']:>5}{m['reference']:>9.4f}{m['candidate']:>8.4f}"
        f"{c['reference']:>14.1%}{c['candidate']:>8.1%}"
    )


def _print_verdict(result: dict[str, Any], parts: dict[str, Any] | None) -> None:
    sha = str(result.get("reference_sha256") or "")[:12]
    print(f"candidate {result['candidate']}  reference {result['reference']} (weights {sha})")
    audit = result.get("audit")
    if audit is not None:
        from training.audit import report_lines

        for line in report_lines(audit):
            print(line)
    if parts is not None:
        gone = parts["left_out"]
        print(
            f"left out: {gone['trained_on']} texts a model trained on, "
            f"{gone['two_labels']} texts given with two labels"
            + (
                f", {gone['settled_before']} outcomes settled before"
                if gone["settled_before"]
                else ""
            )
        )
    titles = {
        "holdout": "hold-out of the base files"
        + (f" ({parts['holdout_share']:.0%} by text hash)" if parts else ""),
        "outcomes": "outcomes neither model trained on",
    }
    for name, part in (result.get("parts") or {}).items():
        _print_part(titles.get(name, name), part)
    for warning in (parts or {}).get("warnings", []):
        print(f"warning: {warning}")
    if result["passed"]:
        print("verdict: passed")
    else:
        labels = ", ".join(result.get("refused_labels") or [])
        print(f"verdict: refused{f' ({labels})' if labels else ''}")
        for failure in result["failures"]:
            print(f"  - {failure}")


def _compare(
    args: argparse.Namespace, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from datetime import UTC, datetime

    from training.audit import AuditLimits, audit
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
    examples = load_examples(args.data)
    checked = None
    if any(e.settled_at is not None for e in examples):
        checked = audit(examples, reference, AuditLimits.from_config(cfg))
    if checked is not None and not checked["passed"] and not args.force:
        # The outcomes given cannot be trusted to score anything: the comparison stops, and
        # the refusal replaces any verdict against this reference.
        result: dict[str, Any] = {
            "candidate": candidate.version,
            "reference": reference.version,
            "reference_sha256": reference.manifest.get("weights_sha256"),
            "passed": False,
            "stopped_by": "audit",
            "failures": [f"audit: {f}" for f in checked["failures"]],
            "refused_labels": checked["flagged"],
            "n": 0,
            "parts": {},
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        parts = None
    else:
        chosen, parts = gate_examples(examples, candidate, reference, cfg.gate_holdout)
        result = compare(candidate, reference, chosen, Limits.from_config(cfg))
        result["data"] = {**parts, "files": [str(p) for p in args.data]}
    result["audit"] = checked
    if checked is not None and not checked["passed"] and args.force:
        result["audit_forced"] = args.reason
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
            verdicts=[verdict],
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
    if args.force and not (args.reason and args.reason.strip()):
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
