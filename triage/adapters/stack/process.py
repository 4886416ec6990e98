"""Detached server processes: start, watch, stop by process id, and read their logs."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from triage.core.errors import StackError

HOST = "127.0.0.1"

STOP_TIMEOUT = 30.0
LOG_TAIL_LINES = 40


def project_root() -> Path:
    """The project folder holding ``deploy/kafka`` and ``var/``.

    ``TRIAGE_HOME`` when set; else the working folder when it holds ``deploy/kafka`` (an
    installed package run from a checkout); else the checkout this package sits in.
    """
    home = os.environ.get("TRIAGE_HOME")
    if home:
        return Path(home).resolve()
    cwd = Path.cwd()
    if (cwd / "deploy" / "kafka").is_dir():
        return cwd.resolve()
    return Path(__file__).resolve().parents[3]


@dataclasses.dataclass(frozen=True)
class ServerProcess:
    """A server started detached: its pid, the port it serves and where its files are."""

    name: str
    pid: int
    port: int
    data_dir: Path
    pid_file: Path
    log_file: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def alive(self) -> bool:
        """True while the process runs and is still this server (not a recycled pid)."""
        return is_server(self.pid, self.data_dir)

    def rss_bytes(self) -> int | None:
        """Resident memory from /proc, or None where that is not available."""
        return _rss_bytes(self.pid)


# Exit codes of children collected by `_reap`, kept for the start-up error message.
_exit_codes: dict[int, int] = {}


def _reap(pid: int) -> bool | None:
    """For a child of this process: True once it has ended (and is now collected), False
    while it runs. None when ``pid`` is not a child of this process.

    Servers started from a long-lived process (the test session) are its children; without
    this they would linger as zombies that still look alive to ``kill(pid, 0)``.
    """
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if done == 0:
        return False
    _exit_codes[pid] = os.waitstatus_to_exitcode(status)
    return True


def _all_threads_zombie(pid: int) -> bool:
    """Whether every thread of ``pid`` has ended, leaving only its process-table entry.

    The state of the main thread alone says little: a JVM's main thread can end while its
    other threads still shut the broker down.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may itself hold spaces or parentheses.
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            return False
    return True


def _pid_exists(pid: int) -> bool:
    child = _reap(pid)
    if child is not None:
        return not child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # An orphan whose new parent does not reap it (some container inits do not) stays a
    # zombie: it is gone all the same.
    return not _all_threads_zombie(pid)


def is_server(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` runs and its command line names ``data_dir``.

    Every server here is started with a path inside its data dir on the command line, so a
    pid file left over from a crash never leads to signalling an unrelated process.
    """
    if pid <= 0 or not _pid_exists(pid):
        return False
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        # Without /proc there is nothing better than the pid check.
        return True
    return str(data_dir.resolve()) in raw.decode(errors="replace")


def _rss_bytes(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def spawn(argv: list[str], log_file: Path, env: Mapping[str, str]) -> int:
    """Start ``argv`` in its own session, output appended to ``log_file``.

    posix_spawn rather than Popen: a Popen object of a server meant to outlive this process
    warns when collected, and the caller tracks the server by pid anyway.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        return os.posix_spawn(argv[0], argv, dict(env), file_actions=actions, setsid=True)
    except NotImplementedError:
        # Some libcs lack POSIX_SPAWN_SETSID; a process group still keeps terminal signals off.
        return os.posix_spawn(argv[0], argv, dict(env), file_actions=actions, setpgroup=0)


def stop(target: ServerProcess | Path, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop a server by pid: SIGTERM, wait up to ``timeout`` s, then SIGKILL.

    ``target`` is a started server or its pid file. Returns whether a process was signalled;
    a missing or stale pid file is removed and is not an error.
    """
    if isinstance(target, ServerProcess):
        pid: int | None = target.pid
        pid_file, data_dir = target.pid_file, target.data_dir
    else:
        pid_file, data_dir = target, target.parent
        pid = read_pid(pid_file)
    if pid is None or not is_server(pid, data_dir):
        pid_file.unlink(missing_ok=True)
        return False
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        _signal(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10.0):
            raise StackError(f"process {pid} did not exit even after SIGKILL")
    pid_file.unlink(missing_ok=True)
    return True


def stop_child(proc: subprocess.Popen[Any], timeout: float = 30.0) -> int:
    """Stop a child process this Python started: SIGTERM, wait up to ``timeout`` s, then
    SIGKILL. Its exit code (negative for the signal that ended it)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def kill(target: ServerProcess) -> None:
    """SIGKILL at once, as a crash would; the data dir and pid file are left as they are."""
    if target.alive():
        _signal(target.pid, signal.SIGKILL)
        _wait_gone(target.pid, 10.0)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_exists(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def log_offset(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tail(path: Path, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines written to ``path`` since ``offset``."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def tails(logs: list[tuple[Path, int]]) -> str:
    parts = []
    for path, offset in logs:
        text = _tail(path, offset)
        if text.strip():
            parts.append(f"--- last lines of {path} ---\n{text}")
    return "\n".join(parts) if parts else "(no log output)"


def wait_ready(
    proc: ServerProcess,
    answers: Callable[[int], bool],
    timeout: float,
    logs: list[tuple[Path, int]],
) -> None:
    """Poll until the server answers; on an early exit or a timeout, raise with its logs."""
    deadline = time.monotonic() + timeout
    while True:
        if not _pid_exists(proc.pid):
            proc.pid_file.unlink(missing_ok=True)
            code = _exit_codes.pop(proc.pid, None)
            status = f" with exit code {code}" if code is not None else ""
            raise StackError(
                f"{proc.name} exited during start-up{status} (port {proc.port}, data in "
                f"{proc.data_dir})\n{tails(logs)}"
            )
        if answers(proc.port):
            return
        if time.monotonic() >= deadline:
            stop(proc, timeout=10.0)
            raise StackError(
                f"{proc.name} did not answer on {proc.address} within {timeout:.0f} s; "
                f"stopped it\n{tails(logs)}"
            )
        time.sleep(0.2)


def which(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise StackError(f"`{tool}` is not on PATH; {why}")
    return path


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """An exclusive lock across processes: two test runs must not fetch into one folder."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
