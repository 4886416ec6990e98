"""What the stage split costs: from a ticket published to its decision stored, and to its hot
spot stored, at a steady hotline rate.

Starts Kafka and SecantusDB (free ports) and one `python -m triage serve` (all stages, the real
model), publishes the shared hot-spot messages as new tickets at --rate per second for
--seconds, and watches MongoDB every 20 ms for each ticket's document and its `hotspot_id`.
Prints p50/p95/max of both delays and their difference, and writes JSON.

    python bench/hotspot_latency.py [--rate 20] [--seconds 30] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))

from streams.topics import ensure_topics  # noqa: E402
from triage.adapters import stack  # noqa: E402
from triage.adapters.registry_file import load_registry  # noqa: E402
from triage.core.settings import Topics  # noqa: E402

PREFIX = "benchlat"
MESSAGES = ROOT.parent / "shared" / "data" / "hotspots" / "messages.jsonl"


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": round(1000 * ordered[-1], 1)}


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    kport = stack.free_port()
    kafka = stack.start_kafka(work / "kafka", kport, stack.free_port(frozenset({kport})), root=ROOT)
    mongo = stack.start_mongo(work / "mongo", stack.free_port(frozenset({kport})))
    bootstrap, uri = kafka.address, f"mongodb://{mongo.address}"
    await ensure_topics(bootstrap, Topics(PREFIX), load_registry())
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URI": uri,
        "TRIAGE_DB": PREFIX,
        "TRIAGE_TOPIC_PREFIX": PREFIX,
        "TRIAGE_MODELS_DIR": os.environ.get("TRIAGE_MODELS_DIR") or str(ROOT / "models"),
    }
    log = (work / "serve.log").open("wb")
    argv = [sys.executable, "-m", "triage", "serve", "--no-http"]
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)  # noqa: ASYNC220
    rows = [json.loads(line) for line in MESSAGES.read_text("utf-8").splitlines() if line]
    n = args.rate * args.seconds
    sent: dict[str, float] = {}
    stored: dict[str, float] = {}
    detected: dict[str, float] = {}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        tickets = client[PREFIX].tickets
        # Ready: the service has created its indexes and joined its groups.
        await asyncio.sleep(20)

        async def watch() -> None:
            while len(detected) < n:
                async for d in tickets.find({}, {"hotspot_id": 1}):
                    now = time.monotonic()
                    stored.setdefault(d["_id"], now)
                    if "hotspot_id" in d:
                        detected.setdefault(d["_id"], now)
                await asyncio.sleep(0.02)

        watcher = asyncio.create_task(watch())
        start = time.monotonic()
        for i in range(n):
            row = rows[i % len(rows)]
            ticket_id = f"lat-{i}"
            ticket = {
                "ticket_id": ticket_id,
                "received_at": datetime.now(UTC).isoformat(),
                "channel": "web",
                "title": row["title"],
                "body": row["body"],
            }
            await asyncio.sleep(max(0.0, start + i / args.rate - time.monotonic()))
            await producer.send_and_wait(
                f"{PREFIX}.tickets",
                json.dumps(ticket, ensure_ascii=False).encode(),
                key=ticket_id.encode(),
            )
            sent[ticket_id] = time.monotonic()
        await asyncio.wait_for(watcher, timeout=120)
    finally:
        await producer.stop()
        await client.close()
        stack.stop_child(proc, 60)
        log.close()
        stack.stop(mongo)
        stack.stop(kafka)
    to_stored = [stored[t] - sent[t] for t in sent]
    to_hotspot = [detected[t] - sent[t] for t in sent]
    split = [detected[t] - stored[t] for t in sent]
    return {
        "n": n,
        "rate": args.rate,
        "decision_stored": percentiles(to_stored),
        "hotspot_stored": percentiles(to_hotspot),
        "hotspot_after_decision": percentiles(split),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with stack.owned_run(ROOT, "bench-hotspot-latency") as work:
        result = asyncio.run(run(args, work))
    for key in ("decision_stored", "hotspot_stored", "hotspot_after_decision"):
        figures = result[key]
        print(
            f"{key:<24} p50 {figures['p50_ms']:>8} ms  p95 {figures['p95_ms']:>8} ms  "
            f"max {figures['max_ms']:>8} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
