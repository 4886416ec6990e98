"""One retraining round from the hotline's own outcomes: what it changes, and what it costs.

Measures, on servers it starts itself (triage.adapters.stack, free ports):
  review_rate_before/after   share of the held-back half of samples/tickets.jsonl that the
  accuracy_before/after      active model / the retrained candidate sends to review, and the
                             share whose first department (routed, or top suggestion when
                             reviewed) is the one that should handle it
  gate_passed                the candidate against the active model (`triage models compare`)
  export_s, export_rss_mb    `triage outcomes export` of 100,000 settled tickets
  retrain_s, retrain_rss_mb  `triage train` on those 100,000 examples (above cv_max_examples:
                             one fit on a validation split, training/default.toml)

The round: `triage serve` decides one half of the samples (every other ticket of each label),
departments and agents act on them over `<prefix>.events` from the samples' expected
departments (scripts/departments.py, as `make run` does), `triage outcomes export` turns them
into examples, and `triage train` learns from the base data plus those examples. The other
half is scored before and after. Commands run as `python -m triage` in subprocesses.

    python bench/retrain.py [--n 100000] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# After the environment's own packages: `triage` is whichever the environment installed;
# the checkout supplies only the test helpers that generate tickets.
sys.path.append(str(ROOT))

from pymongo.errors import BulkWriteError  # noqa: E402

from scripts.departments import expected_departments, play  # noqa: E402
from streams.producer import KafkaProducer  # noqa: E402
from streams.replay import replay  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402
from triage.adapters import stack  # noqa: E402
from triage.adapters.artifact import active_model_path, load_model  # noqa: E402
from triage.adapters.registry_file import load_registry  # noqa: E402
from triage.adapters.store import MongoTicketStore, TicketRecord  # noqa: E402
from triage.adapters.store.records import new_document, ticket_update  # noqa: E402
from triage.core.departments import Registry  # noqa: E402
from triage.core.model import Model  # noqa: E402
from triage.core.routing import Decision, decide  # noqa: E402
from triage.core.settings import Topics  # noqa: E402
from triage.core.text import prepare  # noqa: E402

PREFIX = "retrain"
SAMPLES = ROOT / "samples"
BASE = ROOT.parent / "shared" / "data" / "messages" / "train.jsonl"


def halves() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The samples split in two: every other ticket of each label, in file order."""
    labels = {
        r["ticket_id"]: r["label"]
        for r in map(json.loads, (SAMPLES / "tickets_labels.jsonl").read_text("utf-8").splitlines())
    }
    seen: dict[str, int] = defaultdict(int)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for line in (SAMPLES / "tickets.jsonl").read_text("utf-8").splitlines():
        ticket = json.loads(line)
        label = labels[ticket["ticket_id"]]
        (first if seen[label] % 2 == 0 else second).append(ticket)
        seen[label] += 1
    return first, second


def routing_figures(
    model: Model, tickets: list[dict[str, Any]], expected: dict[str, str], registry: Registry
) -> dict[str, float]:
    """Review rate and first-routing accuracy of ``model`` on ``tickets``, as the service
    would decide them."""
    docs = [prepare(t.get("title") or "", t["body"]) for t in tickets]
    review = correct = 0
    for ticket, doc, prediction in zip(tickets, docs, model.predict(docs), strict=True):
        decision = decide(
            prediction,
            registry,
            ticket_id=ticket["ticket_id"],
            digest="",
            location=ticket.get("location"),
            thresholds=model.thresholds,
            text=doc,
        )
        first = decision.department or (
            decision.suggestions[0].department if decision.suggestions else None
        )
        review += decision.kind == "review"
        correct += first == expected[ticket["ticket_id"]]
    return {"review_rate": review / len(tickets), "accuracy": correct / len(tickets)}


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command to its end: seconds, peak resident memory (MB), standard output."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            lines = status.read_text().splitlines()
        except OSError:
            break
        peak = max([peak, *(int(x.split()[1]) for x in lines if x.startswith("VmHWM:"))])
        time.sleep(0.05)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.wait() != 0:
        raise SystemExit(f"{' '.join(argv[2:5])} failed with exit code {proc.returncode}")
    return time.perf_counter() - started, peak / 1024, out


def triage(*args: str) -> list[str]:
    return [sys.executable, "-m", "triage", *args]


async def wait_for(what: str, check: Any, within: float = 300) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def collect_outcomes(
    bootstrap: str,
    uri: str,
    work: Path,
    env: dict[str, str],
    registry: Registry,
    first: list[dict[str, Any]],
    expected: dict[str, str],
) -> dict[str, int]:
    """`triage serve` decides ``first``; departments and agents settle every ticket of it."""
    topics = Topics(PREFIX)
    await ensure_topics(bootstrap, topics, registry)
    log = (work / "serve.log").open("wb")
    service = await asyncio.create_subprocess_exec(
        *triage("serve", "--no-http"), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    store = MongoTicketStore(uri, PREFIX)
    producer = KafkaProducer(bootstrap)
    try:
        lines = [json.dumps(t, ensure_ascii=False).encode() for t in first]
        await replay(lines, bootstrap=bootstrap, topic=topics.tickets)

        async def decided() -> bool:
            return (await store.counts()).tickets >= len(first)

        await wait_for("the service to decide the first half", decided)
        await producer.start()
        ids = [t["ticket_id"] for t in first]
        cases = await play(
            ids,
            expected,
            store=store,
            producer=producer,
            events_topic=topics.events,
            registry=registry,
        )

        async def settled() -> bool:
            rows = await store.aggregate(
                "tickets", [{"$match": {"status": "resolved"}}, {"$count": "n"}]
            )
            return bool(rows) and rows[0]["n"] >= len(first)

        await wait_for("departments and agents to settle the first half", settled)
    finally:
        service.terminate()
        await asyncio.wait_for(service.wait(), 60)
        log.close()
        await producer.stop()
        await store.close()
    return dict(cases)


def one_round(
    bootstrap: str, uri: str, work: Path, env: dict[str, str], registry: Registry
) -> dict[str, Any]:
    """Outcomes from one half, one retraining, figures on the other half."""
    first, second = halves()
    expected = expected_departments(registry, SAMPLES / "tickets_labels.jsonl")
    cases = asyncio.run(collect_outcomes(bootstrap, uri, work, env, registry, first, expected))
    outcomes = work / "outcomes.jsonl"
    _, _, summary = run_measured(triage("outcomes", "export", "--out", str(outcomes)), env)
    models = work / "models"
    active = active_model_path(ROOT / "models")
    models.mkdir()
    os.symlink(active, models / active.name)
    (models / "ACTIVE").write_text(active.name + "\n")
    round_s, _, _ = run_measured(
        triage("train", "--data", str(BASE), str(outcomes), "--out", str(models / "candidate")),
        env,
    )
    before, after = load_model(active), load_model(models / "candidate")
    gate_env = {**env, "TRIAGE_MODELS_DIR": str(models)}
    # Exit code 1 is a refusal, still a verdict to report.
    verdict = subprocess.run(
        triage("models", "compare", "candidate", "--data", str(BASE), str(outcomes), "--json"),
        env=gate_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    b = routing_figures(before, second, expected, registry)
    a = routing_figures(after, second, expected, registry)
    gate = json.loads(verdict)
    return {
        "samples_outcomes": len(first),
        "samples_scored": len(second),
        "cases": cases,
        "export_summary": summary.strip().splitlines()[1],
        "model_before": before.version,
        "review_rate_before": round(b["review_rate"], 4),
        "review_rate_after": round(a["review_rate"], 4),
        "accuracy_before": round(b["accuracy"], 4),
        "accuracy_after": round(a["accuracy"], 4),
        "round_train_s": round(round_s, 1),
        "gate_passed": gate["passed"],
        "gate_macro_f1_diff": (gate.get("macro_f1") or {}).get("diff"),
        "gate_failures": gate["failures"],
    }


async def _insert(store: MongoTicketStore, docs: list[dict[str, Any]]) -> None:
    """Insert, tolerating the copies a retried write already stored (a busy server may time
    out an insert that went through)."""
    try:
        await store.tickets.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(e["code"] != 11000 for e in exc.details.get("writeErrors", [])):
            raise


async def load_settled(uri: str, db: str, n: int, registry: Registry) -> None:
    """``n`` settled tickets, stored as the service and the outcome handler store them."""
    store = MongoTicketStore(uri, db)
    await store.ensure_indexes()
    rng_day = datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    spec = importlib.util.spec_from_file_location("make_tickets", SAMPLES / "make_tickets.py")
    if spec is None or spec.loader is None:
        raise SystemExit("samples/make_tickets.py cannot be loaded")
    generator = importlib.util.module_from_spec(spec)
    sys.modules["make_tickets"] = generator
    spec.loader.exec_module(generator)
    try:
        batch: list[dict[str, Any]] = []
        for i, made in enumerate(generator.make_tickets(7, n // 280 + 1)[:n]):
            # The generator repeats ids across its scales; these tickets need their own.
            t, label = {**made.record, "ticket_id": f"B-{i:07d}"}, made.label
            department = registry.for_label(label, made.district)
            record = TicketRecord(
                ticket_id=t["ticket_id"],
                received_at=datetime.fromisoformat(t["received_at"]),
                channel=t["channel"],
                title=t.get("title") or "",
                body=t["body"],
                location=t.get("location"),
                decision=Decision(
                    decision_id=f"d{i}",
                    ticket_id=t["ticket_id"],
                    kind="routed" if i % 3 else "review",
                    department=department.code if i % 3 else None,
                    label=label,
                    confidence=0.9,
                    threshold=0.5,
                    suggestions=(),
                    evidence=(),
                    model_version="bench",
                    district=department.district,
                ),
            )
            doc = new_document(*ticket_update(record, now))
            at = rng_day + timedelta(seconds=20 * i)
            doc.update(
                status="resolved" if i % 2 else "accepted",
                department=department.code,
                accepted_at=at,
                resolved_at=at if i % 2 else None,
                revision=2,
            )
            batch.append(doc)
            if len(batch) == 5_000:
                await _insert(store, batch)
                batch = []
        if batch:
            await _insert(store, batch)
    finally:
        await store.close()


def main(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Start the servers in ``work`` (the caller's owned run stops them on every exit)."""
    kport = stack.free_port()
    kafka = stack.start_kafka(work / "kafka", kport, stack.free_port(frozenset({kport})), root=ROOT)
    mongo = stack.start_mongo(work / "mongo", stack.free_port(frozenset({kport})))
    bootstrap, uri = kafka.address, f"mongodb://{mongo.address}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URI": uri,
        "TRIAGE_DB": PREFIX,
        "TRIAGE_TOPIC_PREFIX": PREFIX,
        "TRIAGE_MODELS_DIR": str(ROOT / "models"),
    }
    registry = load_registry()
    try:
        result = one_round(bootstrap, uri, work, env, registry)
        asyncio.run(load_settled(uri, "bench_export", args.n, registry))
        big = work / "big.jsonl"
        export_s, export_rss, _ = run_measured(
            triage("outcomes", "export", "--out", str(big)), {**env, "TRIAGE_DB": "bench_export"}
        )
        rows = sum(1 for _ in big.open("rb"))
        retrain_s, retrain_rss, _ = run_measured(
            triage("train", "--data", str(big), "--out", str(work / "big-model")), env
        )
        result.update(
            n=args.n,
            exported=rows,
            export_s=round(export_s, 2),
            export_rss_mb=round(export_rss, 1),
            retrain_s=round(retrain_s, 1),
            retrain_rss_mb=round(retrain_rss, 1),
        )
        return result
    finally:
        stack.stop(mongo)
        stack.stop(kafka)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with stack.owned_run(ROOT, "bench-retrain") as work:
        result = main(args, work)
    for key, value in result.items():
        print(f"{key:<22} {value}")
    print(f"{'retrain goal (< 60 s)':<22} {'met' if result['retrain_s'] < 60 else 'NOT met'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
