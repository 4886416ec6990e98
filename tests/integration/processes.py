"""`triage serve` subprocesses of one test, with their logs: started in the checkout, stopped
by SIGTERM (SIGKILL after 30 s) when the test ends, whatever happened."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from triage.adapters import stack

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Services:
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)
    started: int = 0  # names the logs, so a restarted service never overwrites an earlier log

    def start(
        self, argv: Sequence[str], env: Mapping[str, str], log_dir: Path
    ) -> subprocess.Popen[bytes]:
        """One more service, logging to ``log_dir/serve-<n>.log``."""
        log = (log_dir / f"serve-{self.started}.log").open("wb")
        self.started += 1
        self.logs.append(log)
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        """Stop every service still running and close the logs; started ones are forgotten."""
        for proc in self.procs:
            stack.stop_child(proc)
        for log in self.logs:
            log.close()
        self.procs.clear()
        self.logs.clear()
