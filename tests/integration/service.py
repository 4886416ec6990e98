"""Helpers for the streaming scenarios: ticket lines, `triage serve` subprocesses, and
reading back what reached MongoDB and the output topics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from streams.replay import replay
from streams.topics import topic_names
from tests.integration.processes import ROOT, Services
from tests.servers import KafkaServer, MongoServer
from triage.adapters.registry_file import load_registry
from triage.core.settings import Topics

TRIAGE = str(ROOT / ".venv" / "bin" / "triage")
# Until the real model lands, services classify with the in-memory fake.
ANALYZER = "tests.fakes:analyzer"


@dataclass
class Scenario:
    """One test's own prefix, database and group, with the services it started."""

    kafka: KafkaServer
    mongo: MongoServer
    prefix: str = field(default_factory=lambda: f"it{uuid.uuid4().hex[:8]}")
    services: Services = field(default_factory=Services)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "MONGODB_URI": self.mongo.uri,
            "TRIAGE_DB": self.prefix,
            "TRIAGE_TOPIC_PREFIX": self.prefix,
            "TRIAGE_GROUP_ID": f"triage-{self.prefix}",
            "TRIAGE_SESSION_TIMEOUT_MS": "6000",
            "TRIAGE_HEARTBEAT_INTERVAL_MS": "1000",
            "TRIAGE_BATCH_SIZE": "200",
        }

    def start_service(self, log_dir: Path) -> subprocess.Popen[bytes]:
        argv = [TRIAGE, "serve", "--no-http", "--analyzer", ANALYZER]
        return self.services.start(argv, self.env, log_dir)

    @property
    def procs(self) -> list[subprocess.Popen[bytes]]:
        return self.services.procs

    def close(self) -> None:
        self.services.close()

    async def publish(self, lines: list[bytes], rate: float = 0.0) -> None:
        await replay(
            lines, bootstrap=self.kafka.bootstrap, topic=f"{self.prefix}.tickets", rate=rate
        )

    def db(self, client: AsyncMongoClient[dict[str, Any]]) -> Any:
        return client[self.prefix]

    async def wait_stored(self, tickets: int, deadletters: int, within: float = 120) -> None:
        """Wait until MongoDB holds the expected numbers of tickets and dead letters."""
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.mongo.uri)
        try:
            deadline = time.monotonic() + within
            got = (-1, -1)
            while time.monotonic() < deadline:
                try:
                    db = self.db(client)
                    got = (
                        await db.tickets.count_documents({}),
                        await db.deadletters.count_documents({}),
                    )
                except Exception:  # noqa: BLE001 - the server may be down on purpose
                    got = (-1, -1)
                if got == (tickets, deadletters):
                    return
                await asyncio.sleep(0.5)
            raise AssertionError(f"stored {got}, expected {(tickets, deadletters)}")
        finally:
            await client.close()

    async def outputs(self) -> dict[str, list[tuple[bytes | None, dict[str, bytes]]]]:
        """Every record in the routed, review and dead-letter topics, by topic (not the
        records between the stages)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.bootstrap)
        await consumer.start()
        try:
            wanted = topic_names(Topics(self.prefix), load_registry())
            tps = [
                TopicPartition(t, p)
                for t, n in wanted.items()
                if not t.endswith((".tickets", ".events", ".decided", ".detected"))
                for p in range(n)
            ]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            out: dict[str, list[tuple[bytes | None, dict[str, bytes]]]] = {}
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    for r in records:
                        out.setdefault(tp.topic, []).append((r.value, dict(r.headers)))
                        if r.offset + 1 >= ends[tp]:
                            remaining.discard(tp)
            return out
        finally:
            await consumer.stop()

    async def check_accounting(self, tickets: int, deadletters: int) -> None:
        """Routed + review (distinct tickets) + dead letters (distinct offsets) = all input,
        and MongoDB holds one document with exactly one decision per ticket."""
        out = await self.outputs()
        dead = out.pop(f"{self.prefix}.deadletter", [])
        sources = {(h["source_partition"], h["source_offset"]) for _, h in dead}
        ids = {h["ticket_id"] for records in out.values() for _, h in records}
        decisions = {h["decision_id"] for records in out.values() for _, h in records}
        assert len(sources) == deadletters
        assert len(ids) == tickets
        assert len(decisions) == tickets
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.mongo.uri)
        try:
            db = self.db(client)
            assert await db.tickets.count_documents({}) == tickets
            multi = await db.tickets.count_documents({"decisions.1": {"$exists": True}})
            assert multi == 0
        finally:
            await client.close()


@pytest.fixture
def scenario(kafka_server: KafkaServer, mongo_server: MongoServer) -> Iterator[Scenario]:
    """A test's own prefix, database and group; the services it starts are stopped after it."""
    with closing(Scenario(kafka_server, mongo_server)) as s:
        yield s
