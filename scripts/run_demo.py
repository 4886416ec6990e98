"""What `make run` does after installation: servers up, the service, the samples, a live summary.

Starts the local servers (`triage stack up`), `triage serve` as a subprocess, replays
samples/tickets.jsonl (moved by whole days to end before now) and samples/malformed.jsonl,
then plays a working centre in simulated time from the samples' expected departments
(scripts/working_centre.py: agents dispatch review tickets, departments accept, return the
tickets that are not theirs and resolve, each after its own delays, so the newest tickets are
still open and slow departments run over their deadlines), prints the dashboard's address and
tokens for the departments with open work, and every few seconds how many tickets were routed
per department, sent to review, dead-lettered and settled, read from MongoDB. Ctrl-C stops
the service and the servers it started, by pid.

    .venv/bin/python scripts/run_demo.py [--interval 5] [--analyzer MODULE:FUNCTION]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.departments import expected_departments  # noqa: E402
from scripts.working_centre import open_work, play_centre, shifted_samples  # noqa: E402
from streams.producer import KafkaProducer  # noqa: E402
from triage.adapters import stack  # noqa: E402
from triage.adapters.registry_file import load_registry  # noqa: E402
from triage.adapters.store import MongoTicketStore  # noqa: E402
from triage.core.settings import Settings  # noqa: E402

DEMO = ROOT / "var" / "demo"
DEPARTMENT_TOKENS_SHOWN = 4

TRIAGE = [sys.executable, "-m", "triage"]


def say(*parts: object, flush: bool = True) -> None:
    """The demo talks to its user on stdout."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    if flush:
        sys.stdout.flush()


async def summary(settings: Settings) -> str:
    store = MongoTicketStore(settings.mongodb_uri, settings.db, timeout_ms=2_000)
    try:
        counts = await store.counts()
        by_status = await store.aggregate(
            "tickets", [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        )
    except Exception as exc:  # noqa: BLE001 - shown to the user, the demo goes on
        return f"(MongoDB not answering: {type(exc).__name__})"
    finally:
        await store.close()
    status = {r["_id"]: r["n"] for r in by_status}
    head = (
        f"tickets {counts.tickets}: routed {sum(counts.routed.values())}, "
        f"in review {counts.review}, dead letters {counts.deadletters}; "
        f"accepted {status.get('accepted', 0)}, resolved {status.get('resolved', 0)}, "
        f"returned {status.get('returned', 0)}, reassigned {status.get('reassigned', 0)}"
    )
    # Four departments a line keeps the per-department figures readable in a terminal.
    cells = [f"{k:<22}{v:>4}" for k, v in sorted(counts.routed.items())]
    rows = ["    " + "  ".join(cells[i : i + 4]) for i in range(0, len(cells), 4)]
    return "\n".join([head, *rows])


async def stored_tickets(settings: Settings) -> int:
    store = MongoTicketStore(settings.mongodb_uri, settings.db, timeout_ms=5_000)
    try:
        return (await store.counts()).tickets
    finally:
        await store.close()


def demo_samples(settings: Settings) -> Path:
    """The samples moved to end just before now, with their labels, under var/demo/; moved
    once per database, so that playing `make run` again replays the same tickets."""
    if (DEMO / "tickets.jsonl").is_file() and asyncio.run(stored_tickets(settings)) > 0:
        return DEMO / "tickets.jsonl"
    lines, labels = shifted_samples(
        ROOT / "samples" / "tickets.jsonl",
        ROOT / "samples" / "tickets_labels.jsonl",
        datetime.now(UTC),
    )
    DEMO.mkdir(parents=True, exist_ok=True)
    (DEMO / "tickets.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    rows = [json.dumps(r, ensure_ascii=False) for r in labels.values()]
    (DEMO / "tickets_labels.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    return DEMO / "tickets.jsonl"


async def departments_act(
    settings: Settings, within: float = 120
) -> tuple[dict[str, int], list[str]]:
    """Once the service has decided the samples, the centre works on them; what happened, and
    the departments with the most open work."""
    registry = load_registry(settings.departments)
    expected = expected_departments(registry, DEMO / "tickets_labels.jsonl")
    store = MongoTicketStore(settings.mongodb_uri, settings.db, timeout_ms=2_000)
    producer = KafkaProducer(settings.kafka_bootstrap)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if (await store.counts()).tickets >= len(expected):
                break
            await asyncio.sleep(1)
        await producer.start()
        cases = await play_centre(
            expected, store=store, producer=producer, registry=registry, topics=settings.topics
        )
        rows = await store.aggregate(
            "tickets",
            [
                {"$group": {"_id": {"d": "$department", "s": "$status"}, "n": {"$sum": 1}}},
                {"$project": {"department": "$_id.d", "status": "$_id.s", "n": 1}},
            ],
        )
    finally:
        await producer.stop()
        await store.close()
    busiest = [d for d, _ in open_work(rows).most_common(DEPARTMENT_TOKENS_SHOWN)]
    return dict(cases), busiest


ROLES = (("agent", None), ("supervisor", None), ("trainer", None))


def local_tokens(path: Path, departments: list[str]) -> dict[str, str]:
    """A tokens file for this machine, one token per role and per department, kept across
    runs (missing ones are added); role or department code -> token."""
    import secrets
    import tomllib

    out: dict[str, str] = {}
    if path.is_file():
        entries = tomllib.loads(path.read_text("utf-8")).get("tokens", [])
        out = {e.get("department") or e["role"]: e["token"] for e in entries}
    wanted = [*ROLES, *(("department", code) for code in departments)]
    lines = []
    for role, department in wanted:
        if (department or role) in out:
            continue
        token = secrets.token_urlsafe(24)
        lines += ["[[tokens]]", f'token = "{token}"', f'role = "{role}"']
        if department:
            lines.append(f'department = "{department}"')
        lines.append("")
        out[department or role] = token
    if lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as file:
            file.write("\n" + "\n".join(lines))
        path.chmod(0o600)
    return out


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C, and SIGTERM too, end the demo the same way: stop what it started. SIGINT is set
    # explicitly because a shell starts background jobs with it ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--analyzer", default=None, help="MODULE:FUNCTION (default: the model)")
    args = parser.parse_args()
    settings = Settings.from_env()
    local = stack.Stack.from_env(ROOT)
    started = [s.name for s in local.status() if s.pid is None]
    subprocess.run([*TRIAGE, "stack", "up"], check=True)  # noqa: S603
    tokens_file = Path(os.environ.get("TRIAGE_TOKENS_FILE") or ROOT / "var" / "tokens.toml")
    registry = load_registry(settings.departments)
    tokens = local_tokens(tokens_file, [d.code for d in registry.departments])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRIAGE_TOKENS_FILE": str(tokens_file)}
    argv = [*TRIAGE, "serve"] + (["--analyzer", args.analyzer] if args.analyzer else [])
    log_path = ROOT / "var" / "serve.log"
    with log_path.open("ab") as log:
        service = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        time.sleep(3)
        samples = [str(demo_samples(settings)), str(ROOT / "samples" / "malformed.jsonl")]
        subprocess.run([*TRIAGE, "replay", *samples], check=True)  # noqa: S603
        cases, busiest = asyncio.run(departments_act(settings))
        say("the centre at work:", ", ".join(f"{k} {v}" for k, v in sorted(cases.items())))
        topics = settings.topics
        say(f"dashboard http://{settings.http_host}:{settings.http_port}/  (paste a token)")
        say(f"HTTP     http://{settings.http_host}:{settings.http_port}/readyz")
        say(f"MongoDB  {settings.mongodb_uri}  database {settings.db}, collection tickets")
        say(
            f"Kafka    {settings.kafka_bootstrap}  in {topics.tickets}, out "
            f"{topics.prefix}.routed.<dept>, {topics.review}, {topics.deadletter}"
        )
        say(f"API      http://{settings.http_host}:{settings.http_port}/openapi.json")
        say(f"tokens   {tokens_file} (TRIAGE_TOKENS_FILE), for Authorization: Bearer <token>:")
        for who in [*(r for r, _ in ROLES), *busiest]:
            name = registry.department(who).name if who in registry else who
            say(f"         {name:<14} {tokens[who]}")
        say(f"         (every department has one in {tokens_file})")
        say(f"service log {log_path}; Ctrl-C to stop")
        last = ""
        while service.poll() is None:
            now = asyncio.run(summary(settings))
            if now != last:  # a quiet screen when nothing moves
                say(time.strftime("%H:%M:%S"), now, flush=True)
                last = now
            time.sleep(args.interval)
        say(f"the service exited with code {service.returncode}; see {log_path}")
    except KeyboardInterrupt:
        return 0
    else:
        return 1
    finally:
        stack.stop_child(service)
        for name, data_dir in (("mongo", local.mongo_dir), ("kafka", local.kafka_dir)):
            if name in started:  # leave servers that were running before alone
                stack.stop(data_dir / "server.pid")
                say(f"stopped {name}")


if __name__ == "__main__":
    raise SystemExit(main())
