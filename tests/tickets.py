"""Ticket lines for tests and benchmarks, generated from the sample templates.

Imports nothing beyond the standard library, so the benchmarks can use it in an environment
without the test tools.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@cache
def ticket_lines(n: int) -> list[bytes]:
    """``n`` distinct valid tickets generated from the sample templates."""
    spec = importlib.util.spec_from_file_location("make_tickets", ROOT / "samples/make_tickets.py")
    if spec is None or spec.loader is None:
        raise ImportError("samples/make_tickets.py cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_tickets"] = module
    spec.loader.exec_module(module)
    scale = n // 280 + 1
    rows = [t.record for t in module.make_tickets(7, scale)][:n]
    if len({r["ticket_id"] for r in rows}) != n:
        raise ValueError(f"the templates gave fewer than {n} distinct tickets")
    return [json.dumps(r, ensure_ascii=False).encode() for r in rows]


def malformed_lines(n: int) -> list[bytes]:
    """``n`` malformed lines cycling through every kind in samples/malformed.jsonl."""
    kinds = (ROOT / "samples/malformed.jsonl").read_bytes().split(b"\n")[:-1]
    return [kinds[i % len(kinds)] for i in range(n)]
