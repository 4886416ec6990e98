"""The real servers for the integration tests, one of each per test session.

`tests/conftest.py` imports the fixtures from here. Each server gets free ports and a data
dir in the session's run folder (``var/runs/tests-<pid>``), and is stopped by pid when the
session ends; a session start first stops the servers of earlier sessions that were killed.
Tests can stop, kill and start a server again: it comes back on the same port with the same
data, the way a production server does after a restart.

The control methods block for seconds; from an async test use the ``a``-prefixed forms,
which run them in a worker thread so the event loop (consumers, clients) keeps going.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from triage.adapters import stack
from triage.adapters.stack import ServerProcess

ROOT = Path(__file__).resolve().parents[1]


class _Server:
    """Start, stop, kill and restart one server on fixed ports and a fixed data dir."""

    proc: ServerProcess

    def _launch(self) -> ServerProcess:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.proc.alive()

    def start(self) -> None:
        """Start the server again after `stop` or `kill`; no-op while it runs."""
        if not self.running:
            self.proc = self._launch()

    def stop(self) -> None:
        """Stop gracefully (SIGTERM, then SIGKILL after a timeout)."""
        stack.stop(self.proc)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        stack.kill(self.proc)
        self.proc.pid_file.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def akill(self) -> None:
        await asyncio.to_thread(self.kill)

    async def arestart(self) -> None:
        await asyncio.to_thread(self.restart)


class KafkaServer(_Server):
    """The Apache Kafka broker (KRaft, single node)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = stack.free_port()
        self.controller_port = stack.free_port(exclude=frozenset({self.port}))
        self.proc = self._launch()

    def _launch(self) -> ServerProcess:
        return stack.start_kafka(self.data_dir, self.port, self.controller_port, root=ROOT)

    @property
    def bootstrap(self) -> str:
        """The value for KAFKA_BOOTSTRAP_SERVERS."""
        return f"{stack.HOST}:{self.port}"


class MongoServer(_Server):
    """SecantusDB, the MongoDB-protocol server."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = stack.free_port()
        self.proc = self._launch()

    def _launch(self) -> ServerProcess:
        return stack.start_mongo(self.data_dir, self.port)

    @property
    def uri(self) -> str:
        """The value for MONGODB_URI."""
        return f"mongodb://{stack.HOST}:{self.port}"


@pytest.fixture(scope="session")
def server_run() -> Iterator[Path]:
    """The session's run folder: its servers are stopped at the end, whatever the exit path."""
    with stack.owned_run(ROOT, "tests") as folder:
        yield folder


@pytest.fixture(scope="session")
def kafka_server(server_run: Path) -> Iterator[KafkaServer]:
    """A running Kafka broker for the whole session; `.bootstrap` is its address."""
    server = KafkaServer(server_run / "kafka")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mongo_server(server_run: Path) -> Iterator[MongoServer]:
    """A running SecantusDB for the whole session; `.uri` is its address."""
    server = MongoServer(server_run / "mongo")
    try:
        yield server
    finally:
        server.stop()
