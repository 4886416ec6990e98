"""`triage stack up|down|status`: the project-local pair of servers under ``var/stack``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from triage.adapters.stack.kafka import (
    KAFKA_START_TIMEOUT,
    kafka_answers,
    kafka_jars_ready,
    start_kafka,
)
from triage.adapters.stack.mongo import start_mongo
from triage.adapters.stack.owners import reap_orphans
from triage.adapters.stack.ports import kafka_port_from_env, mongo_port_from_env
from triage.adapters.stack.process import (
    HOST,
    ServerProcess,
    is_server,
    project_root,
    read_pid,
    stop,
)
from triage.adapters.store.ping import mongo_answers
from triage.core.errors import StackError


@dataclasses.dataclass(frozen=True)
class ServerStatus:
    name: str
    port: int
    pid: int | None
    answers: bool
    log_file: Path


@dataclasses.dataclass(frozen=True)
class Stack:
    """The project-local pair of servers under ``ROOT/var/stack``.

    The Kafka controller listens on the broker port + 1 (9093 beside the default 9092).
    """

    root: Path
    kafka_port: int = 9092
    mongo_port: int = 27017
    timeout: float = KAFKA_START_TIMEOUT

    @classmethod
    def from_env(cls, root: Path | None = None, env: Mapping[str, str] | None = None) -> Stack:
        env = os.environ if env is None else env
        return cls(
            root=(root or project_root()).resolve(),
            kafka_port=kafka_port_from_env(env),
            mongo_port=mongo_port_from_env(env),
        )

    @property
    def controller_port(self) -> int:
        return self.kafka_port + 1

    @property
    def kafka_dir(self) -> Path:
        return self.root / "var" / "stack" / "kafka"

    @property
    def mongo_dir(self) -> Path:
        return self.root / "var" / "stack" / "mongo"

    def _running_pid(self, data_dir: Path) -> int | None:
        pid = read_pid(data_dir / "server.pid")
        if pid is not None and is_server(pid, data_dir):
            return pid
        return None

    def status(self) -> list[ServerStatus]:
        return [
            ServerStatus(
                "kafka",
                self.kafka_port,
                self._running_pid(self.kafka_dir),
                kafka_answers(self.kafka_port),
                self.kafka_dir / "server.log",
            ),
            ServerStatus(
                "mongo",
                self.mongo_port,
                self._running_pid(self.mongo_dir),
                mongo_answers(self.mongo_port),
                self.mongo_dir / "server.log",
            ),
        ]

    def up(self, out: TextIO) -> None:
        """Start whichever server is not running yet; a running one is left alone."""
        if self._running_pid(self.kafka_dir) is None and not kafka_jars_ready(self.root):
            out.write("fetching the Kafka broker jars with Maven (first run only) ...\n")
            out.flush()
        self._up_one(
            out,
            "kafka",
            self.kafka_dir,
            self.kafka_port,
            kafka_answers,
            lambda: start_kafka(
                self.kafka_dir,
                self.kafka_port,
                self.controller_port,
                root=self.root,
                timeout=self.timeout,
            ),
        )
        self._up_one(
            out,
            "mongo",
            self.mongo_dir,
            self.mongo_port,
            mongo_answers,
            lambda: start_mongo(self.mongo_dir, self.mongo_port, timeout=self.timeout),
        )

    def _up_one(
        self,
        out: TextIO,
        name: str,
        data_dir: Path,
        port: int,
        answers: Callable[[int], bool],
        start: Callable[[], ServerProcess],
    ) -> None:
        pid = self._running_pid(data_dir)
        if pid is not None:
            # Ours and alive: perhaps still starting from another `up`, so give it time.
            deadline = time.monotonic() + self.timeout
            while not answers(port):
                if time.monotonic() >= deadline or not is_server(pid, data_dir):
                    raise StackError(
                        f"{name} (pid {pid}) runs but does not answer on {HOST}:{port}; "
                        f"see {data_dir / 'server.log'} or run `triage stack down`"
                    )
                time.sleep(0.2)
            out.write(f"{name}: already running, pid {pid}, {HOST}:{port}\n")
            return
        (data_dir / "server.pid").unlink(missing_ok=True)
        started = time.monotonic()
        proc = start()
        out.write(
            f"{name}: started, pid {proc.pid}, {proc.address} "
            f"({time.monotonic() - started:.1f} s), log {proc.log_file}\n"
        )
        out.flush()

    def down(self, out: TextIO) -> None:
        """Stop the stack's servers, and those left by killed runs under ``var/runs``."""
        for orphan in reap_orphans(self.root):
            pids = ", ".join(map(str, orphan.stopped)) or "none running"
            out.write(
                f"orphaned run {orphan.folder.name} (owner pid {orphan.owner_pid} is gone): "
                f"stopped {pids}\n"
            )
        for name, data_dir in (("mongo", self.mongo_dir), ("kafka", self.kafka_dir)):
            pid = read_pid(data_dir / "server.pid")
            if stop(data_dir / "server.pid"):
                out.write(f"{name}: stopped pid {pid}\n")
            else:
                out.write(f"{name}: not running\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `triage stack`."""
    parser.add_argument(
        "stack_action",
        choices=("up", "down", "status"),
        metavar="{up,down,status}",
        help="start the local Kafka broker and SecantusDB, stop them, or show them",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="project folder holding deploy/ and var/ (default: this checkout)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=KAFKA_START_TIMEOUT,
        help="seconds to wait for each server to answer (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """Run `triage stack`. Exit code 0 on success; for `status`, 0 only if both answer."""
    out = sys.stdout
    try:
        stack = dataclasses.replace(Stack.from_env(args.root), timeout=args.timeout)
        if args.stack_action == "up":
            stack.up(out)
        elif args.stack_action == "down":
            stack.down(out)
        else:
            rows = stack.status()
            for row in rows:
                state = "running" if row.pid is not None else "stopped"
                pid = str(row.pid) if row.pid is not None else "-"
                reply = "answers" if row.answers else "no answer"
                out.write(
                    f"{row.name:<6} {state:<8} pid {pid:<8} {HOST}:{row.port:<6} {reply:<10} "
                    f"log {row.log_file}\n"
                )
            return 0 if all(r.pid is not None and r.answers for r in rows) else 1
    except StackError as exc:
        sys.stderr.write(f"triage stack {args.stack_action}: {exc}\n")
        return 1
    return 0
