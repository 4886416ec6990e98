"""Time `python -m triage serve --no-http` draining a topic: shared by the benchmarks.

The service's own JSON log gives the clock: from the event "first batch received" to the
"batch committed" whose ``consumed`` reaches ``n``. The service is stopped with SIGTERM (and
SIGKILL after a minute) on every exit path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from triage.adapters import stack

__all__ = ["time_consumer"]


def time_consumer(
    env: Mapping[str, str],
    n: int,
    log: Path,
    *,
    extra_args: tuple[str, ...] = (),
    on_poll: Callable[[int], None] | None = None,
    timeout: float = 900.0,
    until: tuple[str, str] = ("batch committed", "consumed"),
    start: str = "first batch received",
) -> float:
    """Seconds the service took for ``n`` tickets; ``on_poll(pid)`` runs at every poll;
    ``until``: the event and its count that end the clock (the hot-spot stage's is
    ``("hot-spot batch committed", "detected")``); ``start``: the event that starts it (a
    process running the hot-spot stage alone: ``"hot-spot partition assigned"``)."""
    argv = [sys.executable, "-m", "triage", "serve", "--no-http", *extra_args]
    with log.open("wb") as out:
        # Run in the log's folder, not the checkout: `python -m` puts the working folder first
        # on sys.path, and the service must be the package the environment installed.
        proc = subprocess.Popen(
            argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
        )
    began = end = None
    read = 0
    try:
        deadline = time.monotonic() + timeout
        while end is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if on_poll is not None:
                on_poll(proc.pid)
            with log.open("rb") as fh:
                fh.seek(read)
                chunk = fh.read()
            # Only whole lines; a line still being written is read at the next poll.
            complete = chunk[: chunk.rfind(b"\n") + 1]
            read += len(complete)
            for line in complete.decode(errors="replace").splitlines():
                event = json.loads(line) if line.startswith("{") else {}
                at = str(event.get("timestamp"))
                if event.get("event") == start and began is None:
                    began = datetime.fromisoformat(at).timestamp()
                if event.get("event") == until[0] and event[until[1]] >= n:
                    end = datetime.fromisoformat(at).timestamp()
    finally:
        stack.stop_child(proc, 60)
    if began is None or end is None:
        raise SystemExit(f"the service did not finish; see {log}")
    return end - began
