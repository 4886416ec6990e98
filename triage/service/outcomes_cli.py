"""`triage outcomes export`: settled tickets from MongoDB as labelled examples for training.

    triage outcomes export --out FILE.jsonl [--since DATE] [--until DATE] [--json]

One line per settled ticket in the columns ``triage train --data`` reads (``id``, ``title``,
``body``, ``label``) plus ``ticket_id``, ``department``, ``source`` and ``settled_at``; the
rules are in ``triage.core.settlement``. The file is written beside its final name and moved
there only when complete, so a failed export never leaves half a file behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

from triage.adapters.registry_file import load_registry
from triage.adapters.store import MongoTicketStore
from triage.adapters.store.outcomes import settled_tickets
from triage.adapters.store.records import LOCAL_TZ
from triage.core.departments import Registry
from triage.core.errors import StoreUnavailableError, TriageError
from triage.core.settings import Settings
from triage.core.settlement import ExportSummary, example_row

__all__ = ["add_arguments", "export", "parse_bound", "run"]

# An export is run by a person at a terminal: tell them soon when MongoDB is not there.
TIMEOUT_MS = 3_000


def parse_bound(text: str, *, end: bool) -> datetime:
    """A local date (Asia/Shanghai; as an end bound, the whole day is included) or an ISO time
    with its offset."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if len(text) == 10:
            start = datetime.combine(day, time(), LOCAL_TZ)
            return start + timedelta(days=1) if end else start
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a date (YYYY-MM-DD) nor a time with its offset "
            "(2026-11-25T08:00:00+08:00)"
        )
    return when


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = sub.add_parser("export", help="settled tickets as labelled JSONL examples")
    e.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl")
    e.add_argument(
        "--since",
        type=lambda t: parse_bound(t, end=False),
        default=None,
        metavar="DATE",
        help="settled on or after this local date (YYYY-MM-DD) or time (ISO with offset)",
    )
    e.add_argument(
        "--until",
        type=lambda t: parse_bound(t, end=True),
        default=None,
        metavar="DATE",
        help="settled up to and including this local date, or before this time",
    )
    e.add_argument("--json", action="store_true", help="print the summary as one JSON object")


async def export(
    store: MongoTicketStore,
    registry: Registry,
    out: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ExportSummary:
    """Write the examples to ``out`` and say what was written."""
    summary = ExportSummary()
    seen: set[str] = set()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            async for doc in settled_tickets(store, since=since, until=until):
                row = example_row(doc, registry)
                if row is None:
                    continue
                # One document per ticket; a cursor may still return a document that moved
                # while it ran twice.
                if row["ticket_id"] in seen:
                    summary.duplicates += 1
                    continue
                seen.add(row["ticket_id"])
                summary.add(row)
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return summary


def run(args: argparse.Namespace) -> int:
    name = "triage outcomes export"
    if args.since and args.until and args.since >= args.until:
        print(f"{name}: --since must be before --until", file=sys.stderr)
        return 2
    if not args.out.parent.is_dir():
        print(f"{name}: --out: no folder {args.out.parent}", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        registry = load_registry(settings.departments)
    except TriageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2

    async def main() -> ExportSummary:
        store = MongoTicketStore(settings.mongodb_uri, settings.db, timeout_ms=TIMEOUT_MS)
        try:
            return await export(store, registry, args.out, since=args.since, until=args.until)
        finally:
            await store.close()

    try:
        summary = asyncio.run(main())
    except StoreUnavailableError:
        print(
            # Not the URI itself: it may carry a password.
            f"{name}: MongoDB (MONGODB_URI) did not answer within "
            f"{TIMEOUT_MS / 1000:.0f} s; nothing written",
            file=sys.stderr,
        )
        return 1
    except (TriageError, OSError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"out": str(args.out), **summary.to_json()}, ensure_ascii=False))
    else:
        print(f"wrote {args.out}")
        for line in summary.lines():
            print(line)
    return 0
