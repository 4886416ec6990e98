"""The trainers' loop on the real servers: replicas of `triage serve` with real models,
departments and agents acting on `<prefix>.events`, and the trainer's commands."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.departments import play
from streams.producer import KafkaProducer
from streams.replay import replay
from tests.integration.processes import ROOT, Services
from tests.servers import KafkaServer, MongoServer
from triage.adapters import stack
from triage.adapters.registry_file import load_registry
from triage.adapters.store import MongoTicketStore
from triage.core.departments import Registry

SAMPLES = ROOT / "samples"
BASE = ROOT.parent / "shared" / "data" / "messages" / "train.jsonl"
# Small enough to train in seconds on a shared machine, the same recipe otherwise.
SMALL_CONFIG = "folds = 3\nholdout = 0.0\nk_best = 20000\nmin_threshold_support = 5\n"
TRAINER_TOKEN = "trainer-token-for-the-loop-test"  # noqa: S105 - a test token


@pytest.fixture(scope="session")
def base_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base data and a models folder holding a model trained on it (its hold-out aside),
    once per session: each test copies it."""
    work = tmp_path_factory.mktemp("base")
    (work / "base.jsonl").write_bytes(BASE.read_bytes())
    (work / "small.toml").write_text(SMALL_CONFIG)
    return train_base(work)


def train_base(work: Path) -> Path:
    """Train ``work/base.jsonl`` with ``work/small.toml`` into ``work/models`` and make the
    version active; returns ``work``."""
    where = ("--models-dir", str(work / "models"), "--config", str(work / "small.toml"))
    done = subprocess.run(
        [sys.executable, "-m", "triage", "train", "--data", str(work / "base.jsonl"), *where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (version,) = [p.name for p in (work / "models").iterdir()]
    (work / "models" / "ACTIVE").write_text(version + "\n")
    return work


def new_loop(kafka: KafkaServer, mongo: MongoServer, base: Path, work: Path, name: str) -> Loop:
    """A loop on its own prefix and a copy of the base models folder."""
    shutil.copytree(base / "models", work / "models")
    shutil.copy(base / "base.jsonl", work / "base.jsonl")
    return Loop(kafka, mongo, work, f"{name}{uuid.uuid4().hex[:8]}")


@pytest.fixture
def loop(
    kafka_server: KafkaServer,
    mongo_server: MongoServer,
    base_models: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Loop]:
    """Its own prefix and database (named after the test module), and a copy of the base
    models folder; its services are stopped at the end."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")[:8]
    one = new_loop(kafka_server, mongo_server, base_models, tmp_path, name)
    try:
        yield one
    finally:
        one.close()


def samples() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The sample tickets, and their intended label and district by ticket id."""
    tickets = [json.loads(x) for x in (SAMPLES / "tickets.jsonl").read_text("utf-8").splitlines()]
    intended: dict[str, dict[str, Any]] = {}
    for line in (SAMPLES / "tickets_labels.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        intended[row["ticket_id"]] = row
    return tickets, intended


def halves(tickets: list[dict[str, Any]], intended: Mapping[str, Any]) -> tuple[list[Any], ...]:
    """Every other ticket of each label: the first half settles, the second is scored."""
    seen: dict[str, int] = {}
    first, second = [], []
    for t in tickets:
        label = intended[t["ticket_id"]]["label"]
        (first if seen.get(label, 0) % 2 == 0 else second).append(t)
        seen[label] = seen.get(label, 0) + 1
    return first, second


def lines(tickets: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(t, ensure_ascii=False).encode() for t in tickets]


@dataclass
class Loop:
    """One test's prefix, database, models folder and replicas."""

    kafka: KafkaServer
    mongo: MongoServer
    work: Path
    prefix: str
    registry: Registry = field(default_factory=load_registry)
    services: Services = field(default_factory=Services)
    http_port: int | None = None
    # More environment for replicas and commands started from now on (TRIAGE_DEPARTMENTS).
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> Path:
        return self.work / "models"

    @property
    def env(self) -> dict[str, str]:
        tokens = self.work / "tokens.toml"
        if not tokens.exists():
            tokens.write_text(f'[[tokens]]\ntoken = "{TRAINER_TOKEN}"\nrole = "trainer"\n')
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "MONGODB_URI": self.mongo.uri,
            "TRIAGE_DB": self.prefix,
            "TRIAGE_TOPIC_PREFIX": self.prefix,
            "TRIAGE_GROUP_ID": f"triage-{self.prefix}",
            "TRIAGE_MODELS_DIR": str(self.models),
            "TRIAGE_MODEL_POLL_MS": "300",
            "TRIAGE_SESSION_TIMEOUT_MS": "6000",
            "TRIAGE_HEARTBEAT_INTERVAL_MS": "1000",
            "TRIAGE_BATCH_SIZE": "20",
            "TRIAGE_TOKENS_FILE": str(tokens),
            **self.extra,
        }

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``python -m triage ARGS`` as the trainer runs it, on this test's servers."""
        done = subprocess.run(
            [sys.executable, "-m", "triage", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if check:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def train(self, *data: Path, force: str | None = None) -> str:
        """A model trained on ``data`` into the models folder (past the audit of outcomes with
        ``force`` as the reason); its version."""
        config = self.work / "small.toml"
        config.write_text(SMALL_CONFIG)
        before = {p.name for p in self.models.iterdir()} if self.models.exists() else set()
        files = [str(p) for p in data]
        extra = ["--force", "--reason", force] if force else []
        self.cli(
            "train",
            "--data",
            *files,
            "--models-dir",
            str(self.models),
            "--config",
            str(config),
            *extra,
        )
        (new,) = {p.name for p in self.models.iterdir() if p.is_dir()} - before
        return new

    def start_replica(
        self, *, http: bool = False, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """One more replica (with ``env`` over the loop's environment); ``http_port`` is its
        port when it serves HTTP."""
        argv = [sys.executable, "-m", "triage", "serve"]
        env = {**self.env, **(env or {})}
        if http:
            self.http_port = stack.free_port()
            env = {**env, "TRIAGE_HTTP_PORT": str(self.http_port)}
        else:
            argv.append("--no-http")
        return self.services.start(argv, env, self.work)

    def close(self) -> None:
        self.services.close()

    async def publish(self, tickets: list[dict[str, Any]], rate: float = 0.0) -> None:
        await replay(
            lines(tickets),
            bootstrap=self.kafka.bootstrap,
            topic=f"{self.prefix}.tickets",
            rate=rate,
        )

    def store(self) -> MongoTicketStore:
        return MongoTicketStore(self.mongo.uri, self.prefix)

    async def until(self, what: str, check: Callable[[MongoTicketStore], Awaitable[bool]]) -> None:
        store = self.store()
        try:
            deadline = time.monotonic() + 180
            while not await check(store):
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out waiting for {what}")
                await asyncio.sleep(0.5)
        finally:
            await store.close()

    async def count(self, query: dict[str, Any]) -> int:
        store = self.store()
        try:
            n: int = await store.tickets.count_documents(query)
        finally:
            await store.close()
        return n

    async def settle(
        self, tickets: list[dict[str, Any]], expected: Mapping[str, str]
    ) -> dict[str, int]:
        """Departments and agents act (per ``expected``) until every ticket is resolved."""
        ids = [t["ticket_id"] for t in tickets]
        await self.until(
            "the tickets to be decided",
            lambda s: self._has(s, {"_id": {"$in": ids}}, len(ids)),
        )
        store, producer = self.store(), KafkaProducer(self.kafka.bootstrap)
        await producer.start()
        try:
            cases = await play(
                ids,
                expected,
                store=store,
                producer=producer,
                events_topic=f"{self.prefix}.events",
                registry=self.registry,
            )
        finally:
            await producer.stop()
            await store.close()
        await self.until(
            "departments and agents to settle the tickets",
            lambda s: self._has(s, {"_id": {"$in": ids}, "status": "resolved"}, len(ids)),
        )
        return dict(cases)

    @staticmethod
    async def _has(store: MongoTicketStore, query: dict[str, Any], n: int) -> bool:
        got: int = await store.tickets.count_documents(query)
        return got >= n
