"""`triage stats rebuild [--from DATE]`: recompute the daily counters from the documents.

The counters are kept at write time; a rebuild replaces those of ``--from`` onwards (all by
default) by a recount of ``tickets``, ``events`` and ``deadletters``, e.g. after restoring a
backup or changing what is counted. Writes during the rebuild may be counted twice or not at
all on the days they touch: run it with the consumers stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import date

from triage.adapters.store import MongoTicketStore
from triage.core.errors import SettingsError, StoreError
from triage.core.settings import Settings


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a date as YYYY-MM-DD") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = sub.add_parser("rebuild", help="recompute the counters from tickets and events")
    rebuild.add_argument(
        "--from", dest="day_from", type=_day, default=None, help="first local day (default: all)"
    )


async def rebuild(settings: Settings, day_from: date | None) -> dict[str, object]:
    store = MongoTicketStore(settings.mongodb_uri, settings.db)
    try:
        await store.ensure_indexes()
        result = await store.counters.rebuild(day_from)
    finally:
        await store.close()
    return {"from": day_from.isoformat() if day_from else None, **asdict(result)}


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"triage stats: {exc}", file=sys.stderr)
        return 2
    try:
        out = asyncio.run(rebuild(settings, args.day_from))
    except StoreError as exc:
        print(f"triage stats: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0
