"""Latency of `POST /v1/suggest` under open-loop load, with the consumer working meanwhile.

Starts Kafka and SecantusDB (triage.adapters.stack, free ports) and a `triage serve`
subprocess (HTTP and consumer), keeps a trickle of tickets flowing into `hotline.tickets`,
and from this process sends suggestions on a fixed schedule, never waiting for earlier
answers, so a slow response cannot hide the queueing it causes: latency is measured from
the scheduled send time.

  steady phase   --rate (200) requests per second for --seconds (30): p50_ms, p99_ms, errors
  step phase     rates rising in --step-seconds steps; max_rps = highest rate held with
                 p99 under 50 ms and no errors

    python bench/api.py [--rate 200] [--seconds 30] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
# After the environment's own packages: `triage` is whichever the environment installed;
# the checkout supplies only the test helpers that generate tickets.
sys.path.append(str(ROOT))

from tests.tickets import ticket_lines  # noqa: E402
from triage.adapters import stack  # noqa: E402

MODELS_DIR = Path(os.environ.get("TRIAGE_MODELS_DIR") or ROOT / "models")
PREFIX = "benchapi"
TOKEN = "bench-agent-token-0123456789"  # noqa: S105 - a throwaway token for this run
STEPS = (200, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000)
P99_LIMIT_MS = 50.0


def model_spec() -> str | None:
    """The real model when it loads, else the test fake (reported as such)."""
    try:
        from triage.core.settings import Settings
        from triage.service.app import load_analyzer

        load_analyzer(Settings(models_dir=MODELS_DIR))
    except Exception:  # noqa: BLE001 - no usable model in the tree
        return "tests.fakes:analyzer"
    return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    session: aiohttp.ClientSession, url: str, bodies: list[bytes], rate: float, seconds: float
) -> dict[str, Any]:
    """Open loop: request i is sent at start + i / rate, whatever happened to the others."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    n = int(rate * seconds)

    async def one(i: int, due: float) -> None:
        nonlocal errors
        try:
            async with session.post(url, data=bodies[i % len(bodies)], headers=headers) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
                    return
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": n,
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies, default=float("nan")), 3),
        "errors": errors,
    }


def trickle(env: dict[str, str], lines: list[bytes], work: Path) -> subprocess.Popen[bytes]:
    """`triage replay` at 20 tickets per second in its own process: the consumer has work
    throughout, and publishing costs the load generator nothing."""
    path = work / "trickle.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    argv = [sys.executable, "-m", "triage", "replay", str(path), "--rate", "20"]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=work
    )


async def wait_ready(
    session: aiohttp.ClientSession,
    base: str,
    proc: subprocess.Popen[bytes],
    *,
    consumer: bool = True,
) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("triage serve exited; see its log")
        try:
            async with session.get(base + "/readyz") as r:
                if r.status == 200:
                    body = await r.json()
                    if not consumer or body["checks"]["consumer"]["partitions"] > 0:
                        return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("triage serve not ready within 120 s")


async def stored(uri: str) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        return await client[PREFIX].tickets.count_documents({})
    finally:
        await client.close()


async def main(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Start the servers in ``work`` (the caller's owned run stops them) and run the load."""
    kport = stack.free_port()
    kafka = stack.start_kafka(work / "kafka", kport, stack.free_port(frozenset({kport})), root=ROOT)
    mongo = stack.start_mongo(work / "mongo", stack.free_port(frozenset({kport})))
    bootstrap, uri = kafka.address, f"mongodb://{mongo.address}"
    port = stack.free_port(frozenset({kport}))
    tokens = work / "tokens.toml"
    tokens.write_text(f'[[tokens]]\ntoken = "{TOKEN}"\nrole = "agent"\n')
    spec = model_spec()
    env = {
        **os.environ,
        # The checkout on the path only for a test analyzer (`tests.fakes`).
        **({"PYTHONPATH": str(ROOT)} if spec else {}),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URI": uri,
        "TRIAGE_DB": PREFIX,
        "TRIAGE_TOPIC_PREFIX": PREFIX,
        "TRIAGE_HTTP_PORT": str(port),
        "TRIAGE_TOKENS_FILE": str(tokens),
        "TRIAGE_MODELS_DIR": str(MODELS_DIR),
    }
    argv = [sys.executable, "-m", "triage", "serve", "--log-level", "WARNING"]
    if spec:
        argv += ["--analyzer", spec]
    base = f"http://127.0.0.1:{port}"
    lines = ticket_lines(20_000)
    bodies = []
    for line in lines[:2000]:
        t = json.loads(line)
        bodies.append(
            json.dumps(
                {"title": t.get("title"), "body": t["body"], "location": t.get("location")},
                ensure_ascii=False,
            ).encode()
        )
    log = (work / "serve.log").open("wb")
    # In the run folder: `python -m` puts the working folder first on sys.path.
    procs = [
        subprocess.Popen(  # noqa: ASYNC220
            [*argv, "--stages", "none"] if args.split else argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
    ]
    if args.split:  # the stages in a replica of their own, that takes no requests here
        workers = stack.free_port(frozenset({kport, port}))
        procs.append(
            subprocess.Popen(  # noqa: ASYNC220
                argv,
                env={**env, "TRIAGE_HTTP_PORT": str(workers)},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=work,
            )
        )
    flow: subprocess.Popen[bytes] | None = None
    try:
        connector = aiohttp.TCPConnector(limit=512)
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_ready(session, base, procs[0], consumer=not args.split)
            if args.split:
                await wait_ready(session, f"http://127.0.0.1:{workers}", procs[1])
            if not args.no_trickle:
                flow = trickle(env, lines, work)
            url = base + "/v1/suggest"
            await load(session, url, bodies, 100, 2)  # warm-up: connections, caches
            before = await stored(uri)
            steady = await load(session, url, bodies, args.rate, args.seconds)
            during = await stored(uri) - before
            steps = []
            for rate in STEPS:
                step = await load(session, url, bodies, rate, args.step_seconds)
                steps.append(step)
                if step["errors"] or step["p99_ms"] >= P99_LIMIT_MS:
                    break
        held = [s["rate"] for s in steps if not s["errors"] and s["p99_ms"] < P99_LIMIT_MS]
        return {
            "classifier": spec or "triage.core.model (active)",
            "replicas": "desk (--stages none) + stages" if args.split else "one, every stage",
            "rate": args.rate,
            "seconds": args.seconds,
            "p50_ms": steady["p50_ms"],
            "p99_ms": steady["p99_ms"],
            "max_ms": steady["max_ms"],
            "errors": steady["errors"],
            "sent": steady["sent"],
            "tickets_consumed_during_steady": during,
            "max_rps": max(held, default=0),
            "steps": steps,
        }
    finally:
        if flow is not None:
            flow.kill()
            flow.wait()
        for proc in procs:
            stack.stop_child(proc)
        log.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--step-seconds", type=float, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--no-trickle", action="store_true", help="leave the consumer idle")
    parser.add_argument(
        "--split",
        action="store_true",
        help="requests to a replica running no stage, the stages in a second replica",
    )
    args = parser.parse_args()
    with stack.owned_run(ROOT, "bench-api") as work:
        result = asyncio.run(main(args, work))
    print(f"classifier: {result['classifier']}")
    columns = ("rate", "sent", "p50_ms", "p99_ms", "max_ms", "errors")
    print(
        f"{'phase':<10} {columns[0]:>6} {columns[1]:>7} "
        + " ".join(f"{c:>8}" for c in columns[2:5])
        + f" {columns[5]:>6}"
    )
    print(
        f"{'steady':<10} {result['rate']:>6.0f} {result['sent']:>7} {result['p50_ms']:>8.2f} "
        f"{result['p99_ms']:>8.2f} {result['max_ms']:>8.2f} {result['errors']:>6}"
    )
    for s in result["steps"]:
        print(
            f"{'step':<10} {s['rate']:>6.0f} {s['sent']:>7} {s['p50_ms']:>8.2f} "
            f"{s['p99_ms']:>8.2f} {s['max_ms']:>8.2f} {s['errors']:>6}"
        )
    print(f"max_rps (p99 < {P99_LIMIT_MS:.0f} ms): {result['max_rps']}")
    print(f"tickets consumed during the steady phase: {result['tickets_consumed_during_steady']}")
    target = result["p99_ms"] < 10 and result["errors"] == 0
    print(f"target (p99 < 10 ms at {result['rate']:.0f} rps): {'met' if target else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
