"""What SecantusDB's writes cost: the bound under routing and the hot-spot stage.

On a SecantusDB it starts itself (free port, stopped at the end), with the tickets the
service would store (generated from the sample templates, classified by the active model),
in batches of 512, each measured once:

  tickets_insert_all_indexes   insert_many of the stored ticket documents, every `tickets` index
  tickets_insert_fewer         the same without the sparse `accepted_at` index
  tickets_insert_no_index      the same with only `_id`
  small_insert                 the ceiling's small documents of bench/pipeline.py, its indexes
  ticket_hotspot_update        one `$set` of `hotspot_id` per ticket (what the stage writes)
  hotspot_seed_insert          a new hot spot's document inserted (a seed, `seed_insert`)
  hotspot_join_upsert          the guarded upsert of a ticket into a new hot spot (`join_update`)

Figures are documents per second.

    python bench/store_writes.py [--n 10240] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, IndexModel, UpdateOne

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))

from streams.batch import Message, plan_batch  # noqa: E402
from tests.tickets import ticket_lines  # noqa: E402
from triage.adapters import stack  # noqa: E402
from triage.adapters.registry_file import load_registry  # noqa: E402
from triage.adapters.store import TICKET_INDEXES  # noqa: E402
from triage.adapters.store.hotspots import Joined, join_update, seed_insert  # noqa: E402
from triage.adapters.store.mongo import SETTLED_INDEX  # noqa: E402
from triage.adapters.store.records import new_document, ticket_update  # noqa: E402
from triage.core.settings import Settings  # noqa: E402

BATCH = 512
Doc = dict[str, Any]


async def _timed(n: int, write: Callable[[int, int], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for i in range(0, n, BATCH):
        await write(i, min(i + BATCH, n))
    return round(n / (time.perf_counter() - started))


def _inserts(coll: Any, docs: list[Doc]) -> Callable[[int, int], Awaitable[object]]:
    def write(a: int, b: int) -> Awaitable[object]:
        return coll.insert_many([dict(d) for d in docs[a:b]])  # type: ignore[no-any-return]

    return write


def _hotspot_writes(
    coll: Any, op: Callable[[Joined], Any], joins: list[Joined]
) -> Callable[[int, int], Awaitable[object]]:
    def write(a: int, b: int) -> Awaitable[object]:
        return coll.bulk_write([op(j) for j in joins[a:b]], ordered=False)  # type: ignore[no-any-return]

    return write


async def _documents(n: int) -> tuple[list[Doc], list[bytes]]:
    from triage.service.app import load_analyzer

    settings = Settings.from_env()
    if "TRIAGE_MODELS_DIR" not in os.environ:
        settings = dataclasses.replace(settings, models_dir=ROOT / "models")
    lines = ticket_lines(n)
    messages = [Message("t", 0, i, None, line) for i, line in enumerate(lines)]
    plan = await plan_batch(
        messages, analyzer=load_analyzer(settings), registry=load_registry(), settings=settings
    )
    now = datetime.now(UTC)
    return [new_document(*ticket_update(r, now)) for r in plan.records], lines


async def measure(n: int, uri: str) -> dict[str, float]:
    docs, lines = await _documents(n)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    db = client["bench_writes"]
    out: dict[str, float] = {}
    try:
        variants = {
            "tickets_insert_all_indexes": [*(IndexModel(k) for k in TICKET_INDEXES), SETTLED_INDEX],
            "tickets_insert_fewer": [IndexModel(k) for k in TICKET_INDEXES],
            "tickets_insert_no_index": [],
        }
        for name, indexes in variants.items():
            coll = db[name]
            if indexes:
                await coll.create_indexes(indexes)
            out[name] = await _timed(n, _inserts(coll, docs))
        small = db["small"]
        await small.create_indexes([IndexModel(k) for k in TICKET_INDEXES])
        copies = [
            {"_id": str(i), "raw": line, "status": "copied", "department": None}
            for i, line in enumerate(lines)
        ]
        out["small_insert"] = await _timed(n, lambda a, b: small.insert_many(copies[a:b]))
        tickets = db["tickets_insert_all_indexes"]
        ids = [d["_id"] for d in docs]
        out["ticket_hotspot_update"] = await _timed(
            n,
            lambda a, b: tickets.bulk_write(
                [UpdateOne({"_id": i}, {"$set": {"hotspot_id": "hs-" + i}}) for i in ids[a:b]],
                ordered=False,
            ),
        )
        at = datetime.now(UTC)
        joins = [Joined("hs-" + i, i, at, "city-housing", True) for i in ids]
        for name, op in (
            ("hotspot_seed_insert", seed_insert),
            ("hotspot_join_upsert", join_update),
        ):
            coll = db[name]
            await coll.create_indexes([IndexModel([("heat", -1)]), IndexModel([("last_day", -1)])])
            out[name] = await _timed(n, _hotspot_writes(coll, op, joins))
    finally:
        await client.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_240)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with stack.owned_run(ROOT, "bench-writes") as work:
        mongo = stack.start_mongo(work / "mongo", stack.free_port())
        result: dict[str, Any] = {"n": args.n, "batch": BATCH}
        result.update(asyncio.run(measure(args.n, f"mongodb://{mongo.address}")))
    print(f"{'write':32s} {'documents/s':>12s}")
    for key, value in result.items():
        print(f"{key:32s} {value:>12}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
