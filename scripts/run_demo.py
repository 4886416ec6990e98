"""What `make run` does after installation: servers up, the service, the samples, a live summary.

Starts the local servers (`triage stack up`), `triage serve` as a subprocess, replays
samples/tickets.jsonl and samples/malformed.jsonl, then plays the departments and agents on
`hotline.events` from the samples' expected departments (scripts/departments.py: right
routings accepted and resolved, wrong ones returned with a reason and reassigned, review
tickets reassigned), and prints every few seconds how many tickets were routed per
department, sent to review, dead-lettered and settled, read from MongoDB. Ctrl-C stops the
service and the servers it started, by pid.

    .venv/bin/python scripts/run_demo.py [--interval 5] [--analyzer MODULE:FUNCTION]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.departments import expected_departments, play  # noqa: E402
from streams.producer import KafkaProducer  # noqa: E402
from triage.adapters import stack  # noqa: E402
from triage.adapters.registry_file import load_registry  # noqa: E402
from triage.adapters.store import MongoTicketStore  # noqa: E402
from triage.core.settings import Settings  # noqa: E402

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


async def departments_act(settings: Settings, within: float = 120) -> dict[str, int]:
    """Once the service has decided the samples, departments and agents act on them."""
    registry = load_registry(settings.departments)
    expected = expected_departments(registry, ROOT / "samples" / "tickets_labels.jsonl")
    store = MongoTicketStore(settings.mongodb_uri, settings.db, timeout_ms=2_000)
    producer = KafkaProducer(settings.kafka_bootstrap)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if (await store.counts()).tickets >= len(expected):
                break
            await asyncio.sleep(1)
        await producer.start()
        cases = await play(
            expected,
            expected,
            store=store,
            producer=producer,
            events_topic=settings.topics.events,
            registry=registry,
        )
    finally:
        await producer.stop()
        await store.close()
    return dict(cases)


ROLES = (
    ("agent", None),
    ("supervisor", None),
    ("trainer", None),
    ("department", "city-housing"),
)


def local_tokens(path: Path) -> dict[str, str]:
    """A tokens file for this machine, one token per role, kept across runs; role -> token."""
    import secrets
    import tomllib

    if path.is_file():
        entries = tomllib.loads(path.read_text("utf-8")).get("tokens", [])
        return {e.get("department") or e["role"]: e["token"] for e in entries}
    lines, out = [], {}
    for role, department in ROLES:
        token = secrets.token_urlsafe(24)
        lines += ["[[tokens]]", f'token = "{token}"', f'role = "{role}"']
        if department:
            lines.append(f'department = "{department}"')
        lines.append("")
        out[department or role] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), "utf-8")
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
    tokens = local_tokens(tokens_file)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRIAGE_TOKENS_FILE": str(tokens_file)}
    argv = [*TRIAGE, "serve"] + (["--analyzer", args.analyzer] if args.analyzer else [])
    log_path = ROOT / "var" / "serve.log"
    with log_path.open("ab") as log:
        service = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        time.sleep(3)
        samples = [str(ROOT / "samples" / n) for n in ("tickets.jsonl", "malformed.jsonl")]
        subprocess.run([*TRIAGE, "replay", *samples], check=True)  # noqa: S603
        cases = asyncio.run(departments_act(settings))
        say("departments and agents:", ", ".join(f"{k} {v}" for k, v in sorted(cases.items())))
        topics = settings.topics
        say(f"HTTP     http://{settings.http_host}:{settings.http_port}/readyz")
        say(f"MongoDB  {settings.mongodb_uri}  database {settings.db}, collection tickets")
        say(
            f"Kafka    {settings.kafka_bootstrap}  in {topics.tickets}, out "
            f"{topics.prefix}.routed.<dept>, {topics.review}, {topics.deadletter}"
        )
        say(f"API      http://{settings.http_host}:{settings.http_port}/openapi.json")
        say(f"tokens   {tokens_file} (TRIAGE_TOKENS_FILE), for Authorization: Bearer <token>:")
        for who, token in tokens.items():
            say(f"         {who:<14} {token}")
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
