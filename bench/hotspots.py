"""Hot-spot detection benchmark: tickets per second with 100,000 tickets in the window.

The window is filled with real citizen messages (the hot-spot and classifier files in
../shared), each reused about a dozen times with a different estate name put in front of its
title, so that the window holds many near-duplicates: every posting list the detector reads
is full, the worst case for its candidate scoring. Timestamps run at the rate that keeps
100,000 tickets in the 90-day window, so expiry is working while the measured tickets go
through. One core; text is cleaned beforehand, as the consumer hands it over.

Prints a table and writes JSON: tickets_per_s (wall clock), cpu_tickets_per_s (per CPU-second
of this process, which a machine shared with other work does not depress), p50_ms, p99_ms,
window (tickets in the window while measuring), hotspots_live, rss_mb (process after
filling), detector_mb (RSS growth while filling), peak_rss_mb.

Then, unless --no-pipeline, the consumer end to end (`python -m triage serve`, real model, on
Kafka and SecantusDB started here on free ports): the shared messages three times over (each
copy three years after the previous, so the 90-day window turns over), once with detection
off (TRIAGE_HOTSPOT_WINDOW_DAYS=0) and once on, in the same run; `pipeline` holds
off_tickets_per_s (routing), on_routing_tickets_per_s (routing while the hot-spot stage runs
in the same process), on_tickets_per_s (first ticket consumed to the last hot spot stored: the
hot-spot stage end to end), on_stage_latency_max_s (the longest a batch waited between routing
publishing it and its hot spots being stored), the ratio of the routing rates and the hot
spots stored; then the same tickets routed by `--stages routing` alone
(alone_routing_tickets_per_s) and detected afterwards by a process running `--stages hotspots`
alone (alone_stage_tickets_per_s: from its assignment to the last hot spot stored).

    python bench/hotspots.py --json bench/out/hotspots.json [--window 100000] [--measure 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SOURCES = (SHARED / "hotspots" / "messages.jsonl", SHARED / "messages" / "train.jsonl")
SAMPLES = ROOT / "samples" / "tickets.jsonl"
_ESTATE_CHARS = "金银翠碧华锦御景苑庭湖山海星月阳光明德安康泰和嘉盛福禄寿喜龙凤麒麟"


def pin_one_core() -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def load_texts() -> list[tuple[str, str]]:
    paths = [p for p in SOURCES if p.is_file()] or [SAMPLES]
    texts = []
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append((row.get("title") or "", row["body"]))
    return texts


def make_sightings(
    texts: list[tuple[str, str]], window: int, measure: int, window_days: float
) -> list[Any]:
    from triage.core.hotspots import Sighting
    from triage.core.text import clean

    cleaned = [(clean(t), clean(b)) for t, b in texts]
    rng = random.Random(12345)
    # the rate that keeps `window` tickets in the window (a little under, for the boundary)
    step = timedelta(days=window_days) / (window + 1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(window + measure):
        title, body = cleaned[i % len(cleaned)]
        if i >= len(cleaned):
            estate = "".join(rng.choice(_ESTATE_CHARS) for _ in range(3)) + "小区"
            title = estate + title
        out.append(Sighting(f"B-{i}", start + step * i, title, body, caller=f"c{i % 50_000}"))
    return out


def rss_mb() -> float:
    import psutil

    rss: int = psutil.Process().memory_info().rss
    return rss / 2**20


def bench_detection(window: int, measure: int) -> dict[str, Any]:
    from triage.core.hotspots import Detector, DetectorConfig

    config = DetectorConfig()
    sightings = make_sightings(load_texts(), window, measure, config.window_days)
    fill, timed = sightings[:window], sightings[window:]
    before = rss_mb()
    detector = Detector(config)
    started = time.perf_counter()
    for s in fill:
        detector.observe(s)
    fill_s = time.perf_counter() - started
    filled = rss_mb()
    in_window = len(detector)
    latencies = []
    observe = detector.observe
    clock = time.perf_counter
    cpu = time.process_time()
    started = clock()
    for s in timed:
        t0 = clock()
        observe(s)
        latencies.append(clock() - t0)
    elapsed = clock() - started
    cpu = time.process_time() - cpu
    latencies.sort()
    return {
        "tickets_per_s": round(len(timed) / elapsed),
        # CPU time of this process only: what one core gives when the machine is shared
        "cpu_tickets_per_s": round(len(timed) / cpu),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
        "measured": len(timed),
        "window": in_window,
        "window_after": len(detector),
        "hotspots_live": detector.hotspots_live,
        "vocabulary": detector.vocabulary,
        "fill_tickets_per_s": round(len(fill) / fill_s),
        "rss_mb": round(rss_mb(), 1),
        "detector_mb": round(filled - before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def pipeline_lines(copies: int) -> list[bytes]:
    """The shared messages as tickets in time order, `copies` times, three years apart."""
    path = SOURCES[0] if SOURCES[0].is_file() else None
    if path is None:
        raise SystemExit(f"{SOURCES[0]} is absent: the end-to-end run needs it")
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda r: (r["received_at"], r["message_id"]))
    lines = []
    for copy in range(copies):
        for r in rows:
            at = datetime.fromisoformat(r["received_at"])
            at = at.replace(year=at.year + 3 * copy)
            ticket = {
                "ticket_id": f"HS{copy}-{r['message_id']}",
                "received_at": at.isoformat(),
                "channel": "web",
                "title": r["title"],
                "body": r["body"],
                "caller": {"name": r["user"]},
            }
            lines.append(json.dumps(ticket, ensure_ascii=False).encode())
    return lines


def run_service(env: dict[str, str], n: int, log: Path, *, stage: bool) -> dict[str, float]:
    """Start `python -m triage serve`, time first consume to the commit of the n-th ticket
    (with ``stage``, to the n-th ticket's hot spot stored, and read the stage's log)."""
    from serve_timing import time_consumer

    until = ("hot-spot batch committed", "detected") if stage else ("batch committed", "consumed")
    seconds = time_consumer(env, n, log, until=until)
    out: dict[str, float] = {"tickets_per_s": round(n / seconds), "seconds": round(seconds, 2)}
    if stage:
        events = [
            json.loads(line)
            for line in log.read_text(errors="replace").splitlines()
            if line.startswith("{")
        ]
        stamps = [
            datetime.fromisoformat(e["timestamp"]).timestamp()
            for e in events
            if e.get("event") == "hot-spot batch committed"
        ]
        routed = [
            datetime.fromisoformat(e["timestamp"]).timestamp()
            for e in events
            if e.get("event") == "batch committed" and e.get("consumed", 0) >= n
        ]
        first = min(
            datetime.fromisoformat(e["timestamp"]).timestamp()
            for e in events
            if e.get("event") == "first batch received"
        )
        out["routing_tickets_per_s"] = round(n / (routed[0] - first)) if routed else 0
        waits = [e["latency_max_s"] for e in events if e.get("latency_max_s") is not None]
        out["stage_batches"] = len(stamps)
        out["stage_latency_max_s"] = max(waits, default=0.0)
    return out


async def _replayed(
    lines: list[bytes], bootstrap: str, uri: str, prefix: str, window_days: str
) -> dict[str, str]:
    """The tickets replayed onto ``prefix``'s topics; the environment of a service on them."""
    from streams.replay import replay
    from streams.topics import ensure_topics
    from triage.adapters.registry_file import load_registry
    from triage.core.settings import Topics

    await ensure_topics(bootstrap, Topics(prefix), load_registry())
    await replay(lines, bootstrap=bootstrap, topic=f"{prefix}.tickets")
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URI": uri,
        "TRIAGE_DB": prefix,
        "TRIAGE_TOPIC_PREFIX": prefix,
        "TRIAGE_GROUP_ID": f"triage-{prefix}",
        "TRIAGE_HOTSPOT_WINDOW_DAYS": window_days,
    }


async def _stage_alone(lines: list[bytes], bootstrap: str, uri: str, work: Path) -> dict[str, Any]:
    """The hot-spot stage by itself: routing (`--stages routing`) first publishes every
    decided ticket, then a process running only the stage (`--stages hotspots`) is timed from
    its assignment to the last hot spot stored."""
    from serve_timing import time_consumer

    env = await _replayed(lines, bootstrap, uri, "benchstage", "90")
    n = len(lines)
    routing = await asyncio.to_thread(
        time_consumer, {**env, "TRIAGE_STAGES": "routing"}, n, work / "stage-routing.log"
    )
    stage = await asyncio.to_thread(
        time_consumer,
        {**env, "TRIAGE_STAGES": "hotspots"},
        n,
        work / "stage-alone.log",
        until=("hot-spot batch committed", "detected"),
        start="hot-spot partition assigned",
    )
    return {
        "alone_routing_tickets_per_s": round(n / routing),
        "alone_stage_tickets_per_s": round(n / stage),
        "alone_stage_seconds": round(stage, 2),
    }


async def bench_pipeline(copies: int, work: Path) -> dict[str, Any]:

    from pymongo import AsyncMongoClient

    from triage.adapters import stack

    lines = pipeline_lines(copies)
    kport = stack.free_port()
    kafka = stack.start_kafka(work / "kafka", kport, stack.free_port(frozenset({kport})), root=ROOT)
    try:
        mongo = stack.start_mongo(work / "mongo", stack.free_port(frozenset({kport})))
        try:
            bootstrap, uri = kafka.address, f"mongodb://{mongo.address}"
            result: dict[str, Any] = {"n": len(lines)}
            for name, days in (("off", "0"), ("on", "90")):
                env = await _replayed(lines, bootstrap, uri, f"bench{name}", days)
                run = await asyncio.to_thread(
                    run_service, env, len(lines), work / f"{name}.log", stage=name == "on"
                )
                result[f"{name}_tickets_per_s"] = run["tickets_per_s"]
                result[f"{name}_seconds"] = run["seconds"]
                if name == "on":
                    # on: the clock runs to the last hot spot stored; routing's own end too
                    result["on_routing_tickets_per_s"] = run["routing_tickets_per_s"]
                    result["on_stage_latency_max_s"] = run["stage_latency_max_s"]
            result.update(await _stage_alone(lines, bootstrap, uri, work))
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
            try:
                db = client["benchon"]
                result["hotspots_stored"] = await db.hotspots.count_documents({})
                result["tickets_with_hotspot"] = await db.tickets.count_documents(
                    {"hotspot_id": {"$exists": True}}
                )
            finally:
                await client.close()
            result["on_over_off"] = round(
                result["on_routing_tickets_per_s"] / result["off_tickets_per_s"], 3
            )
            return result
        finally:
            stack.stop(mongo)
    finally:
        stack.stop(kafka)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True, metavar="OUT")
    parser.add_argument("--window", type=int, default=100_000, help="tickets in the window")
    parser.add_argument("--measure", type=int, default=20_000, help="tickets timed")
    parser.add_argument("--copies", type=int, default=3, help="of the shared messages, end to end")
    parser.add_argument("--no-pipeline", action="store_true", help="detection alone")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    if not args.no_pipeline:  # first, on both cores, before this process pins itself to one
        from triage.adapters import stack

        with stack.owned_run(ROOT, "bench-hotspots") as work:
            result["pipeline"] = asyncio.run(bench_pipeline(args.copies, work))
    pin_one_core()
    result["detection"] = bench_detection(args.window, args.measure)
    d = result["detection"]
    print(f"{'figure':34s} {'value':>12s}")
    for key, label in [
        ("tickets_per_s", "detection, tickets/s (one core)"),
        ("cpu_tickets_per_s", "same, per CPU-second of the process"),
        ("p50_ms", "per ticket p50 ms"),
        ("p99_ms", "per ticket p99 ms"),
        ("window", "tickets in the window"),
        ("hotspots_live", "hot spots alive in the window"),
        ("detector_mb", "detector memory (RSS growth) MB"),
        ("peak_rss_mb", "process peak RSS MB"),
    ]:
        print(f"{label:34s} {d[key]:>12}")
    if "pipeline" in result:
        p = result["pipeline"]
        for key, label in [
            ("n", "end to end: tickets"),
            ("off_tickets_per_s", "routing, detection off, tickets/s"),
            ("on_routing_tickets_per_s", "routing, detection on, tickets/s"),
            ("on_over_off", "routing on / off"),
            ("on_tickets_per_s", "to the last hot spot stored, /s"),
            ("on_stage_latency_max_s", "routed to hot spot, max s"),
            ("alone_routing_tickets_per_s", "routing alone (stage apart), /s"),
            ("alone_stage_tickets_per_s", "hot-spot stage alone, /s"),
            ("hotspots_stored", "hot-spot documents stored"),
        ]:
            print(f"{label:34s} {p[key]:>12}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
