"""Throughput of the streaming pipeline: 20,000 tickets through 6 partitions.

Measures, in one run on servers it starts itself (triage.adapters.stack, free ports):
  tickets_per_s             `triage serve` end to end: first consume to last commit
  ceiling_tickets_per_s     consume, bulk-insert and produce the same records, no classification
  naive_tickets_per_s       one message at a time: classify, insert_one, produce, commit (subset)
  classifier_tickets_per_s  text preparation and classifier alone, batched, same records
  shadow_tickets_per_s      the same with a second model in shadow scoring every batch too
  rss_mb                    the service's peak resident memory (VmHWM) under that load

    python bench/pipeline.py [--n 20000] [--naive 1000] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient, IndexModel

ROOT = Path(__file__).resolve().parents[1]
# After the environment's own packages: `triage` is whichever the environment installed;
# the checkout supplies only the test helpers that generate tickets.
sys.path.append(str(ROOT))

from serve_timing import time_consumer  # noqa: E402

from streams.batch import Analyzer  # noqa: E402
from streams.codec import Ticket, decode_ticket  # noqa: E402
from streams.replay import replay  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402
from tests.tickets import ticket_lines  # noqa: E402
from triage.adapters import stack  # noqa: E402
from triage.adapters.registry_file import load_registry  # noqa: E402
from triage.adapters.store import TICKET_INDEXES  # noqa: E402
from triage.core.settings import Topics  # noqa: E402

PREFIX = "bench"


def load_analyzer() -> tuple[Analyzer, str | None]:
    """The active model: a benchmark of a stand-in would measure nothing worth reporting."""
    from triage.service.app import load_analyzer as load

    return load(Settings_()), None


def Settings_() -> Any:
    from triage.core.settings import Settings

    settings = Settings.from_env()
    if "TRIAGE_MODELS_DIR" not in os.environ:
        settings = dataclasses.replace(settings, models_dir=ROOT / "models")
    return settings


def run_service(
    bootstrap: str, mongo: str, n: int, spec: str | None, log: Path
) -> dict[str, float]:
    env = {
        **os.environ,
        # The checkout on the path only for a test analyzer (`tests.fakes`).
        **({"PYTHONPATH": str(ROOT)} if spec else {}),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URI": mongo,
        "TRIAGE_DB": PREFIX,
        "TRIAGE_TOPIC_PREFIX": PREFIX,
        "TRIAGE_MODELS_DIR": os.environ.get("TRIAGE_MODELS_DIR") or str(ROOT / "models"),
    }
    peak = 0

    def high_water(pid: int) -> None:
        nonlocal peak
        status = Path(f"/proc/{pid}/status").read_text()
        peak = max(
            peak, *(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM:"))
        )

    extra = ("--analyzer", spec) if spec else ()
    seconds = time_consumer(env, n, log, extra_args=extra, on_poll=high_water, timeout=600)
    return {"tickets_per_s": n / seconds, "rss_mb": peak / 1024, "seconds": seconds}


def tickets_consumer(bootstrap: str, group_id: str) -> AIOKafkaConsumer:
    """A fresh group reading the replayed tickets from the start, committing by hand."""
    return AIOKafkaConsumer(
        f"{PREFIX}.tickets",
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def run_ceiling(bootstrap: str, mongo: str, n: int) -> float:
    consumer = tickets_consumer(bootstrap, "bench-ceiling")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=True
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo)
    coll = client["bench_ceiling"]["copies"]
    # Indexed as the service's `tickets` collection is, so the ceiling pays the same index upkeep.
    await coll.create_indexes([IndexModel(key) for key in TICKET_INDEXES])
    await consumer.start()
    await producer.start()
    try:
        done, start = 0, None
        while done < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=256)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                continue
            start = start or time.perf_counter()
            docs = [
                {
                    "_id": f"{r.partition}:{r.offset}",
                    "raw": r.value,
                    "status": "copied",
                    "department": None,
                    "received_day": "2026-11-26",
                }
                for r in records
            ]
            futures = [
                await producer.send(f"{PREFIX}.ceiling", r.value, key=r.key) for r in records
            ]
            await asyncio.gather(coll.insert_many(docs, ordered=False), *futures)
            await consumer.commit()
            done += len(records)
        if start is None:
            raise RuntimeError("nothing was consumed")
        return n / (time.perf_counter() - start)
    finally:
        await consumer.stop()
        await producer.stop()
        await client.close()


async def run_naive(bootstrap: str, mongo: str, n: int, analyzer: Analyzer) -> float:
    consumer = tickets_consumer(bootstrap, "bench-naive")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo)
    coll = client["bench_naive"]["tickets"]
    await consumer.start()
    await producer.start()
    try:
        start = None
        for _ in range(n):
            r = await consumer.getone()
            start = start or time.perf_counter()
            ticket = decode_ticket(r.value, 20_000)
            if not isinstance(ticket, Ticket):
                raise TypeError(ticket)
            text = analyzer.prepare(ticket.title or "", ticket.body)
            (pred,) = analyzer.classifier.predict([text])
            await coll.insert_one({"_id": f"{r.partition}:{r.offset}", "label": pred.label})
            await producer.send_and_wait(f"{PREFIX}.naive", r.value, key=r.key)
            await consumer.commit()
        if start is None:
            raise RuntimeError("nothing was consumed")
        return n / (time.perf_counter() - start)
    finally:
        await consumer.stop()
        await producer.stop()
        await client.close()


def run_classifier(lines: list[bytes], analyzer: Analyzer) -> float:
    tickets = [t for t in (decode_ticket(x, 20_000) for x in lines) if isinstance(t, Ticket)]
    start = time.perf_counter()
    for i in range(0, len(tickets), 256):
        analyzer.run(tickets[i : i + 256], 3, 5)
    return len(tickets) / (time.perf_counter() - start)


async def main(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Start the servers in ``work`` (the caller's owned run stops them) and measure."""
    kport = stack.free_port()
    kafka = stack.start_kafka(work / "kafka", kport, stack.free_port(frozenset({kport})), root=ROOT)
    mongo = stack.start_mongo(work / "mongo", stack.free_port(frozenset({kport})))
    bootstrap, uri = kafka.address, f"mongodb://{mongo.address}"
    analyzer, spec = load_analyzer()
    lines = ticket_lines(args.n)
    await ensure_topics(bootstrap, Topics(PREFIX), load_registry())
    await replay(lines, bootstrap=bootstrap, topic=f"{PREFIX}.tickets")
    service = await asyncio.to_thread(run_service, bootstrap, uri, args.n, spec, work / "serve.log")
    result: dict[str, Any] = {
        "n": args.n,
        "partitions": 6,
        "classifier": spec or "triage.core.model",
        **service,
        "ceiling_tickets_per_s": await run_ceiling(bootstrap, uri, args.n),
        "naive_tickets_per_s": await run_naive(bootstrap, uri, args.naive, analyzer),
        "naive_n": args.naive,
        # The better of two runs each, alternated: the first run of a process pays for
        # warming caches, which would otherwise be charged to whichever runs first.
        "classifier_tickets_per_s": 0.0,
        "shadow_tickets_per_s": 0.0,
    }
    shadowed = dataclasses.replace(analyzer, shadow=analyzer.classifier)
    for _ in range(2):
        for key, which in (("classifier", analyzer), ("shadow", shadowed)):
            rate = run_classifier(lines, which)
            result[f"{key}_tickets_per_s"] = max(result[f"{key}_tickets_per_s"], rate)
    bound = min(result["ceiling_tickets_per_s"], result["classifier_tickets_per_s"])
    result["share_of_bound"] = result["tickets_per_s"] / bound
    result["times_naive"] = result["tickets_per_s"] / result["naive_tickets_per_s"]
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=1_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with stack.owned_run(ROOT, "bench-pipeline") as work:
        result = asyncio.run(main(args, work))
    for key, value in result.items():
        print(f"{key:<26} {value:>12.1f}" if isinstance(value, float) else f"{key:<26} {value:>12}")
    targets = result["share_of_bound"] >= 0.6 and result["times_naive"] >= 10
    print(f"{'targets (>=60% bound, >=10x naive)':<26} {'met' if targets else 'NOT met':>12}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
