"""Servers owned by a run: a test session, a benchmark, a script.

A run is a folder ``var/runs/<label>-<pid>/`` holding ``owner.json`` (the owner's pid and the
start time the kernel gives that pid) and the data dirs of the servers it starts, each with its
pid file. ``owned_run`` stops those servers when the run ends, on every exit path that lets
Python run (return, exception, Ctrl-C, SIGTERM). A SIGKILL lets nothing run, so the next
``owned_run`` or ``triage stack down`` on the same project calls ``reap_orphans``: a run whose
owner is gone has its servers stopped (each pid checked against its data dir first, so a
recycled pid is never signalled) and its folder removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from triage.adapters.stack.process import read_pid, stop, write_atomic

__all__ = ["Orphan", "owned_run", "reap_orphans", "runs_dir"]

OWNER_FILE = "owner.json"
PID_FILE = "server.pid"


@dataclasses.dataclass(frozen=True)
class Orphan:
    """A run whose owner died: the folder and the server pids that were stopped."""

    folder: Path
    owner_pid: int | None
    stopped: tuple[int, ...]


def runs_dir(root: Path) -> Path:
    return root / "var" / "runs"


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces; the fields after it are fixed.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _owner_alive(owner: dict[str, object]) -> bool:
    pid, started = owner.get("pid"), owner.get("start_time")
    if not isinstance(pid, int) or pid <= 0:
        return False
    now = _start_time(pid)
    return now is not None and (started is None or now == started)


def _stop_servers_under(folder: Path) -> tuple[int, ...]:
    stopped = []
    for pid_file in sorted(folder.rglob(PID_FILE)):
        pid = read_pid(pid_file)
        if stop(pid_file) and pid is not None:
            stopped.append(pid)
    return tuple(stopped)


def reap_orphans(root: Path) -> list[Orphan]:
    """Stop the servers of every run under ``root`` whose owner is no longer running."""
    orphans: list[Orphan] = []
    base = runs_dir(root)
    if not base.is_dir():
        return orphans
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            owner = json.loads((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            owner = {}
        if isinstance(owner, dict) and _owner_alive(owner):
            continue
        stopped = _stop_servers_under(folder)
        shutil.rmtree(folder, ignore_errors=True)
        pid = owner.get("pid") if isinstance(owner, dict) else None
        orphans.append(Orphan(folder, pid if isinstance(pid, int) else None, stopped))
    return orphans


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread, so clean-up code runs as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def owned_run(root: Path, label: str) -> Iterator[Path]:
    """A run folder for servers this process starts; they are stopped when the block ends.

    Entering first reaps the orphans of earlier runs that were killed.
    """
    reap_orphans(root)
    folder = runs_dir(root) / f"{label}-{os.getpid()}"
    if folder.exists():
        # Our own pid, so the earlier owner is dead: whatever it left is an orphan.
        _stop_servers_under(folder)
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    owner = {"pid": os.getpid(), "start_time": _start_time(os.getpid()), "label": label}
    write_atomic(folder / OWNER_FILE, json.dumps(owner) + "\n")
    try:
        with _sigterm_raises():
            yield folder
    finally:
        _stop_servers_under(folder)
        shutil.rmtree(folder, ignore_errors=True)
