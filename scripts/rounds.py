"""Rounds of outcomes built from the shared messages, clean or wrong, to try the gate on.

The messages (``../shared/data/messages/train.jsonl``) are split by a hash of their id into
the base data a reference model trains on, a pool the hotline settles in one round, and
messages no model trains on. A round gives each pool message a district (by the same hash) and
the department that settles it:

    clean      the department its label and district call for
    poisoned   every ticket of one label settled at another label's department of its district
    random     a share of the tickets settled at a random department of another label

``tickets`` shapes a pool as service input (``triage replay``), ``settled`` as what
``triage outcomes export`` writes. Run as a script, it writes the files of one round:

    python -m scripts.rounds --out DIR [--round clean|poisoned|random] [--label L] [--as-label L]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.adapters.registry_file import load_registry
from triage.core.departments import Registry
from triage.core.settlement import label_for

__all__ = ["MESSAGES", "Round", "split", "tickets"]

MESSAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "messages" / "train.jsonl"
SETTLED_AT = "2026-12-01T10:00:00+08:00"


def _bucket(text: str, salt: str = "") -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}{text}".encode()).digest()[:4], "big") % 100


def split(
    rows: Sequence[dict[str, Any]], base: int = 30, pool: int = 80
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(base, pool, unseen): buckets [0, base), [base, pool) and [pool, 100) of the id hash."""
    parts: tuple[list[dict[str, Any]], ...] = ([], [], [])
    for row in rows:
        b = _bucket(row["id"])
        parts[0 if b < base else 1 if b < pool else 2].append(row)
    return parts[0], parts[1], parts[2]


def load(path: Path = MESSAGES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def district_of(row: dict[str, Any], registry: Registry) -> str:
    codes = [d.code for d in registry.districts]
    return codes[_bucket(row["id"], "district") % len(codes)]


def tickets(rows: Sequence[dict[str, Any]], registry: Registry, tag: str) -> list[dict[str, Any]]:
    """The messages as service input, each in its district (named in ``location``)."""
    out = []
    for i, row in enumerate(rows):
        district = registry.district(district_of(row, registry))
        if district is None:
            raise ValueError("the registry lost a district it listed")
        out.append(
            {
                "ticket_id": f"{tag}-{i:05d}",
                "received_at": "2026-12-01T09:00:00+08:00",
                "channel": "web",
                "title": row["title"],
                "body": row["body"],
                "location": district.name,
            }
        )
    return out


@dataclass(frozen=True)
class Round:
    """Which department settles each pool message."""

    kind: str = "clean"
    label: str = "交通运输"
    as_label: str = "城乡建设"
    share: float = 0.3
    seed: int = 17

    def departments(self, rows: Sequence[dict[str, Any]], registry: Registry) -> list[str]:
        rng = random.Random(self.seed)
        out = []
        for row in rows:
            district = district_of(row, registry)
            label = row["label"]
            if self.kind == "poisoned" and label == self.label:
                label = self.as_label
            elif self.kind == "random" and rng.random() < self.share:
                label = rng.choice([x for x in registry.labels if x != label])
            out.append(registry.for_label(label, district).code)
        return out

    def settled(self, rows: Sequence[dict[str, Any]], registry: Registry) -> list[dict[str, Any]]:
        """The round as an export writes it (label from the department, the model's own label
        taken for a merged bureau, as the export does when the model's label is one of its)."""
        out = []
        for i, (row, dept) in enumerate(zip(rows, self.departments(rows, registry), strict=True)):
            ticket_id = f"{self.kind}-{i:05d}"
            out.append(
                {
                    "id": ticket_id,
                    "title": row["title"],
                    "body": row["body"],
                    "label": label_for(registry, dept, row["label"]),
                    "ticket_id": ticket_id,
                    "department": dept,
                    "source": "from_review",
                    "settled_at": SETTLED_AT,
                }
            )
        return out


def _write(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--round", default="clean", choices=("clean", "poisoned", "random"))
    p.add_argument("--label", default="交通运输")
    p.add_argument("--as-label", default="城乡建设")
    args = p.parse_args()
    registry = load_registry()
    base, pool, unseen = split(load())
    args.out.mkdir(parents=True, exist_ok=True)
    _write(args.out / "base.jsonl", base)
    _write(args.out / "unseen.jsonl", unseen)
    chosen = Round(args.round, args.label, args.as_label)
    _write(args.out / f"round-{args.round}.jsonl", chosen.settled(pool, registry))
    print(f"base {len(base)}, pool {len(pool)}, unseen {len(unseen)} -> {args.out}")  # noqa: T201 - a script's output


if __name__ == "__main__":
    main()
