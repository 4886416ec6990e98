"""The gate's hold-out: a fixed share of every training file that no model trains on.

Which examples belong to it depends only on their masked text (a hash), never on a random
draw, the file or its order: the same message is held out in every run, in every file it
appears in, so a candidate and the model it is compared with are both scored on text neither
saw. ``triage train`` leaves these examples out and records the share in the manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from triage.core.domain import TicketText

__all__ = ["in_holdout", "latest_settled", "parse_time"]

_SCALE = float(1 << 64)


def in_holdout(doc: TicketText, share: float) -> bool:
    """Whether this (prepared) text falls in the hold-out of the given share."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{doc.title}\x00{doc.body}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE < share


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with its offset (a settled_at); ValueError when it has none."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return when


def latest_settled(values: Sequence[str | None]) -> str | None:
    """The latest of the settled times given (ISO text), or None when there is none."""
    times = [parse_time(v) for v in values if v is not None]
    return max(times).isoformat() if times else None
