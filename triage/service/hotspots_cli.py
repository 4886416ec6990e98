"""`triage hotspots --data FILE.jsonl [--json] [--top N]`: the hot-spot detector over a file.

Reads the columns of the shared message-board file (message_id, user, title, body,
received_at, likes) or those `triage replay` takes (ticket_id, caller, title, body,
received_at), cleans the text as the service does, runs the same detector in `received_at`
order and prints the hottest hot spots with their member ids. A line that cannot be read is
reported on stderr with its line number and skipped; the count is in the output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from triage.core.hotspots import DetectorConfig, HotspotSummary, Sighting, rank
from triage.core.text import clean

_SHOWN_PROBLEMS = 5
_DEFAULTS = DetectorConfig()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, metavar="FILE.jsonl")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--top", type=int, default=10, metavar="N", help="hot spots shown (10)")
    p.add_argument("--window-days", type=float, default=_DEFAULTS.window_days, metavar="DAYS")
    p.add_argument(
        "--threshold",
        type=float,
        default=_DEFAULTS.join_threshold,
        help="similarity at which a ticket joins a hot spot",
    )


def _sighting(row: Any) -> Sighting:
    if not isinstance(row, dict):
        raise TypeError("not a JSON object")
    ticket_id = row.get("ticket_id", row.get("message_id"))
    if not isinstance(ticket_id, str | int) or str(ticket_id) == "":
        raise ValueError("no ticket_id or message_id")
    body = row.get("body")
    if not isinstance(body, str) or not body.strip():
        raise ValueError("no body")
    title = row.get("title") or ""
    raw_at = row.get("received_at")
    if not isinstance(raw_at, str):
        raise TypeError("no received_at")
    received_at = datetime.fromisoformat(raw_at)
    if received_at.tzinfo is None:
        raise ValueError(f"received_at {raw_at!r} has no UTC offset")
    caller = row.get("caller", row.get("user"))
    likes = row.get("likes", 0)
    return Sighting(
        ticket_id=str(ticket_id),
        received_at=received_at,
        title=clean(str(title)),
        body=clean(body),
        caller=str(caller) if caller else None,
        likes=likes if isinstance(likes, int) and not isinstance(likes, bool) else 0,
    )


def read_sightings(path: Path) -> tuple[list[Sighting], list[str]]:
    """The tickets of a JSONL file, and one `file:line: reason` per line that was skipped."""
    sightings: list[Sighting] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in _lines(path):
        try:
            sighting = _sighting(json.loads(line))
        except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            problems.append(f"{path}:{number}: {exc}")
            continue
        if sighting.ticket_id in seen:
            problems.append(f"{path}:{number}: ticket {sighting.ticket_id} repeated")
            continue
        seen.add(sighting.ticket_id)
        sightings.append(sighting)
    return sightings, problems


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip():
                yield number, raw.decode("utf-8", errors="replace")


def as_json(summary: HotspotSummary, rank_: int) -> dict[str, Any]:
    return {
        "rank": rank_,
        "hotspot_id": summary.hotspot_id,
        "title": summary.title,
        "places": list(summary.places),
        "first_at": summary.first_at.isoformat(),
        "last_at": summary.last_at.isoformat(),
        "tickets": summary.tickets,
        "callers": summary.callers,
        "likes": summary.likes,
        "peak_7d": summary.peak_7d,
        "recent_7d": summary.recent_7d,
        "heat": summary.heat,
        "members": list(summary.members),
    }


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        sys.stderr.write("triage hotspots: --top must be at least 1\n")
        return 2
    try:
        config = DetectorConfig(window_days=args.window_days, join_threshold=args.threshold)
        sightings, problems = read_sightings(args.data)
    except ValueError as exc:
        sys.stderr.write(f"triage hotspots: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"triage hotspots: cannot read {args.data}: {exc}\n")
        return 1
    for problem in problems[:_SHOWN_PROBLEMS]:
        sys.stderr.write(f"triage hotspots: skipped {problem}\n")
    if len(problems) > _SHOWN_PROBLEMS:
        sys.stderr.write(f"triage hotspots: skipped {len(problems)} lines in all\n")
    ranked = rank(sightings, config)
    top = [as_json(s, i) for i, s in enumerate(ranked[: args.top], start=1)]
    if args.json:
        out = {
            "tickets": len(sightings),
            "skipped": len(problems),
            "hotspots": len(ranked),
            "window_days": config.window_days,
            "join_threshold": config.join_threshold,
            "top": top,
        }
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return 0
    sys.stdout.write(
        f"{len(sightings)} tickets, {len(ranked)} hot spots of 2 or more "
        f"(window {config.window_days:g} days)\n"
    )
    for h in top:
        sys.stdout.write(
            f"\n#{h['rank']}  heat {h['heat']}  {h['title']}\n"
            f"    places {', '.join(h['places']) or '-'}  {h['first_at'][:10]} to "
            f"{h['last_at'][:10]}  tickets {h['tickets']}  callers {h['callers']}  "
            f"likes {h['likes']}  peak/7d {h['peak_7d']}\n"
            f"    members {' '.join(h['members'])}\n"
        )
    return 0
