"""Servers started by a run are stopped on every exit path, and after a SIGKILL by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from triage.adapters import stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

# A test-style owner: an owned run that starts SecantusDB, reports its pid, then waits.
OWNER = """
import sys, time
from pathlib import Path
from triage.adapters import stack
root = Path(sys.argv[1])
with stack.owned_run(root, "tests") as folder:
    proc = stack.start_mongo(folder / "mongo", stack.free_port())
    print(proc.pid, folder, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A server orphaned to an init that does not reap it would stay a zombie.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _processes_naming(text: str) -> list[int]:
    """Pids of running processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _start_owner(root: Path) -> tuple[subprocess.Popen[str], int, Path]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert owner.stdout is not None
    pid_text, folder = owner.stdout.readline().split()
    return owner, int(pid_text), Path(folder)


def _end(owner: subprocess.Popen[str], sig: signal.Signals) -> None:
    owner.send_signal(sig)
    owner.wait(60)
    assert owner.stdout is not None
    owner.stdout.close()


def _wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_sigkilled_owner_leaves_an_orphan_that_stack_down_stops(tmp_path: Path) -> None:
    """After its owner is SIGKILLed, `triage stack down` stops the orphaned server by pid."""
    owner, server_pid, folder = _start_owner(tmp_path)
    _end(owner, signal.SIGKILL)
    assert _alive(server_pid), "the server outlives a SIGKILLed owner: that is the orphan"
    done = subprocess.run(
        [sys.executable, "-m", "triage", "stack", "down", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"stopped {server_pid}" in done.stdout
    assert _wait_gone(server_pid)
    assert not folder.exists()


def test_sigkilled_owner_is_reaped_when_the_next_run_starts(tmp_path: Path) -> None:
    """The next owned run (a test session's start) stops what a killed one left behind."""
    owner, server_pid, folder = _start_owner(tmp_path)
    _end(owner, signal.SIGKILL)
    with stack.owned_run(tmp_path, "tests") as mine:
        assert _wait_gone(server_pid)
        assert not folder.exists()
        assert mine.is_dir()
    assert not mine.exists()


def test_sigterm_to_an_owner_stops_its_servers(tmp_path: Path) -> None:
    """SIGTERM to the owner runs its clean-up: the server stops and the run folder goes."""
    owner, server_pid, folder = _start_owner(tmp_path)
    _end(owner, signal.SIGTERM)
    assert _wait_gone(server_pid)
    assert not folder.exists()


def test_a_live_owner_is_never_reaped(tmp_path: Path) -> None:
    """Another run's servers are left alone while that run's owner is alive."""
    owner, server_pid, folder = _start_owner(tmp_path)
    try:
        assert stack.reap_orphans(tmp_path) == []
        assert _alive(server_pid) and folder.is_dir()
    finally:
        _end(owner, signal.SIGTERM)
    assert _wait_gone(server_pid)


def test_bench_api_stops_its_servers_when_the_service_fails_to_start(tmp_path: Path) -> None:
    """bench/api.py exits non-zero when `triage serve` cannot start, leaving no server running."""
    bench = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "api.py"), "--seconds", "1", "--step-seconds", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # An unreadable department registry: the service refuses to start.
        env={**os.environ, "TRIAGE_DEPARTMENTS": str(tmp_path / "absent.toml")},
    )
    output, _ = bench.communicate(timeout=300)
    assert bench.returncode != 0, output
    assert "triage serve exited" in output
    run_folder = stack.runs_dir(ROOT) / f"bench-api-{bench.pid}"
    assert _processes_naming(str(run_folder)) == []
    assert not run_folder.exists()
