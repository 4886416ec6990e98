"""The gate's latest verdict on a model, kept beside it as ``gate.json``.

Light on purpose (no numpy, no scikit-learn): the HTTP API reads it when a trainer activates a
version, to tell whether that version passed its comparison.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["VERDICT_FILE", "read_verdict", "write_verdict"]

VERDICT_FILE = "gate.json"


def write_verdict(folder: Path, result: dict[str, Any]) -> None:
    """Keep the latest verdict beside the candidate, for activations over HTTP."""
    tmp = folder / f".{VERDICT_FILE}.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    tmp.replace(folder / VERDICT_FILE)


def read_verdict(folder: Path) -> dict[str, Any] | None:
    """The latest verdict kept beside a model, or None if it was never compared."""
    try:
        data = json.loads((folder / VERDICT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
