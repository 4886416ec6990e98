"""The gate's verdicts on a model, kept beside it as ``gate.json``.

Light on purpose (no numpy, no scikit-learn): the HTTP API reads it when a trainer activates a
version. A verdict is bound to the model it was compared with: its version and the sha256 of
its weights (``reference``, ``reference_sha256``). The file keeps the latest verdict against
each reference, so comparing a candidate with an older, weaker model adds a verdict against
that model and never turns a refusal against the active one into a pass.

    {"latest": {...}, "verdicts": [{...}, ...]}   (one per reference, newest last)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["VERDICT_FILE", "read_verdict", "read_verdicts", "write_verdict"]

VERDICT_FILE = "gate.json"


def _key(verdict: dict[str, Any]) -> tuple[Any, Any]:
    return verdict.get("reference"), verdict.get("reference_sha256")


def write_verdict(folder: Path, result: dict[str, Any]) -> None:
    """Add ``result`` to the verdicts kept beside the candidate, replacing only the one
    against the same reference (version and weights)."""
    kept = [v for v in read_verdicts(folder) if _key(v) != _key(result)]
    data = {"latest": result, "verdicts": [*kept, result]}
    tmp = folder / f".{VERDICT_FILE}.tmp"
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    tmp.replace(folder / VERDICT_FILE)


def _read(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / VERDICT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_verdicts(folder: Path) -> list[dict[str, Any]]:
    """Every verdict kept beside a model, oldest first ([] if it was never compared)."""
    data = _read(folder)
    if data is None:
        return []
    if "verdicts" not in data:  # a file written before verdicts were kept per reference
        return [data] if "passed" in data else []
    return [v for v in data.get("verdicts") or [] if isinstance(v, dict)]


def read_verdict(folder: Path) -> dict[str, Any] | None:
    """The latest verdict kept beside a model, or None if it was never compared."""
    verdicts = read_verdicts(folder)
    return verdicts[-1] if verdicts else None
