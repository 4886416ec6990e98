"""Local servers for `triage stack` and the integration tests.

The Apache Kafka broker (KRaft, one node, jars fetched by ``deploy/kafka/pom.xml``) and the
MongoDB-protocol server SecantusDB run as detached processes bound to 127.0.0.1, each with a
data dir holding its files, its log and a pid file. They are stopped by process id only.

This is the one module that knows how those servers are launched. The driver libraries are
imported inside the readiness checks only, so importing this module stays cheap.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from triage.errors import StackError

__all__ = [
    "ServerProcess",
    "Stack",
    "StackError",
    "add_arguments",
    "ensure_kafka_jars",
    "free_port",
    "kafka_answers",
    "kill",
    "mongo_answers",
    "port_in_use",
    "run",
    "start_kafka",
    "start_mongo",
    "stop",
]

HOST = "127.0.0.1"
DEFAULT_KAFKA_BOOTSTRAP = f"{HOST}:9092"
DEFAULT_MONGODB_URI = f"mongodb://{HOST}:27017"

# Two cores and a service, tests and benchmarks beside it: a small fixed heap keeps the
# broker from sizing itself to a quarter of the machine's memory.
KAFKA_HEAP = ("-Xmx512m", "-Xms256m")
# Kafka's own start script uses these; they keep GC pauses short on a small heap.
KAFKA_GC = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
)
# A broker that ran out of memory half-works; a dead one is noticed by the readiness checks.
KAFKA_JVM_EXTRA = ("-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true")
# WiredTiger defaults to a 1 GB cache; the test data is tiny.
MONGO_CACHE_SIZE = "256M"

KAFKA_START_TIMEOUT = 90.0
MONGO_START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
MVN_TIMEOUT = 1200.0
LOG_TAIL_LINES = 40

_JAVA_HINT = "the Kafka broker needs Java 17 or newer (Debian: openjdk-17-jre-headless)"
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KAFKA_JAR_GLOB = "kafka_2.13-*.jar"


def project_root() -> Path:
    """The checkout that holds ``deploy/kafka``: the parent of this package's folder."""
    return Path(__file__).resolve().parents[1]


def kafka_libs_dir(root: Path) -> Path:
    """Where the broker jars are kept, outside ``var/stack`` so wiping data keeps the jars."""
    return root / "var" / "kafka" / "libs"


# ---------------------------------------------------------------------------------------------
# Processes


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
        return _is_server(self.pid, self.data_dir)

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


def _is_server(pid: int, data_dir: Path) -> bool:
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


def _read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _spawn(argv: list[str], log_file: Path, env: Mapping[str, str]) -> int:
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
        pid = _read_pid(pid_file)
    if pid is None or not _is_server(pid, data_dir):
        pid_file.unlink(missing_ok=True)
        return False
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        _signal(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10.0):
            raise StackError(f"process {pid} did not exit even after SIGKILL")
    pid_file.unlink(missing_ok=True)
    return True


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


# ---------------------------------------------------------------------------------------------
# Ports


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The servers set SO_REUSEADDR too, so a socket of a stopped server lingering in
        # TIME_WAIT does not count as busy, while a listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def _ephemeral_floor() -> int:
    try:
        low = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
    except (OSError, IndexError):
        return 32768
    return int(low) if low.isdigit() else 32768


def free_port(exclude: frozenset[int] = frozenset()) -> int:
    """A port on 127.0.0.1 that nothing listens on right now.

    Picked at random below the ephemeral range: a server that the tests stop and start again
    on the same port would otherwise find it taken by some client connection's local port.
    """
    floor = _ephemeral_floor()
    if floor > 12000:
        for _ in range(200):
            port = random.randrange(10000, floor)
            if port not in exclude and not port_in_use(port):
                return port
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            found: int = sock.getsockname()[1]
        if found not in exclude:
            return found


def _check_ports_free(name: str, *ports: int) -> None:
    for port in ports:
        if port_in_use(port):
            raise StackError(
                f"cannot start {name}: port {port} on {HOST} is already in use "
                "(another server, or one left from an earlier run)"
            )


# ---------------------------------------------------------------------------------------------
# Logs


def _log_offset(path: Path) -> int:
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


def _tails(logs: list[tuple[Path, int]]) -> str:
    parts = []
    for path, offset in logs:
        text = _tail(path, offset)
        if text.strip():
            parts.append(f"--- last lines of {path} ---\n{text}")
    return "\n".join(parts) if parts else "(no log output)"


def _wait_ready(
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
                f"{proc.data_dir})\n{_tails(logs)}"
            )
        if answers(proc.port):
            return
        if time.monotonic() >= deadline:
            stop(proc, timeout=10.0)
            raise StackError(
                f"{proc.name} did not answer on {proc.address} within {timeout:.0f} s; "
                f"stopped it\n{_tails(logs)}"
            )
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# Kafka


def _which(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise StackError(f"`{tool}` is not on PATH; {why}")
    return path


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """An exclusive lock across processes: two test runs must not fetch into one folder."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _jars_current(libs: Path, digest: str) -> bool:
    stamp = libs / ".pom-sha256"
    return (
        stamp.is_file() and stamp.read_text().strip() == digest and any(libs.glob(_KAFKA_JAR_GLOB))
    )


def kafka_jars_ready(root: Path) -> bool:
    """Whether ``ensure_kafka_jars`` would return at once, without running Maven."""
    pom = root / "deploy" / "kafka" / "pom.xml"
    if not pom.is_file():
        return False
    return _jars_current(kafka_libs_dir(root), hashlib.sha256(pom.read_bytes()).hexdigest())


def ensure_kafka_jars(root: Path) -> Path:
    """Fetch the broker jars with Maven once, into ``var/kafka/libs``; return that folder.

    The folder is stamped with a digest of the pom, so a version change in the pom fetches
    afresh instead of mixing two Kafka versions on one classpath.
    """
    root = root.resolve()  # Maven resolves a relative output folder against the pom's folder
    pom = root / "deploy" / "kafka" / "pom.xml"
    if not pom.is_file():
        raise StackError(f"{pom} is missing: it is the recipe for the Kafka broker jars")
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    libs = kafka_libs_dir(root)
    if _jars_current(libs, digest):
        return libs
    with _locked(libs.parent / ".fetch.lock"):
        if _jars_current(libs, digest):
            return libs
        _which("java", _JAVA_HINT)
        mvn = _which("mvn", "Maven fetches the Kafka broker jars (Debian: maven)")
        staging = libs.with_name(f"libs.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        argv = [
            mvn,
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
        ]
        try:
            result = subprocess.run(  # noqa: S603 - a fixed argv built here, no shell
                argv,
                capture_output=True,
                text=True,
                timeout=MVN_TIMEOUT,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise StackError(
                f"Maven did not finish fetching the Kafka jars in {MVN_TIMEOUT:.0f} s"
            ) from exc
        # Maven 3.8 colours its output even with -B and style.color=never.
        output = _ANSI.sub("", result.stdout + result.stderr)
        output = "\n".join(output.splitlines()[-LOG_TAIL_LINES:])
        if result.returncode != 0 or not any(staging.glob(_KAFKA_JAR_GLOB)):
            shutil.rmtree(staging, ignore_errors=True)
            raise StackError(
                f"Maven could not fetch the Kafka jars (exit code {result.returncode}); "
                f"command: {' '.join(argv)}\n{output}"
            )
        (staging / ".pom-sha256").write_text(digest + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        staging.replace(libs)
    return libs


def _render(template: Path, values: Mapping[str, str]) -> str:
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = _PLACEHOLDER.search(text)
    if left:
        raise StackError(f"{template}: placeholder {left.group(0)} has no value")
    return text


def _cluster_id() -> str:
    # Kafka's own format: 16 random bytes, URL-safe base64 without padding; it never hands
    # out ids starting with "-" since they read as command-line options.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _kafka_argv(java: str, libs: Path, data_dir: Path, main: str, *args: str) -> list[str]:
    return [
        java,
        *KAFKA_HEAP,
        *KAFKA_GC,
        *KAFKA_JVM_EXTRA,
        f"-XX:ErrorFile={data_dir / 'hs_err_pid%p.log'}",
        f"-Dkafka.logs.dir={data_dir}",
        f"-Dlog4j2.configurationFile={data_dir / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def start_kafka(
    data_dir: Path,
    port: int,
    controller_port: int,
    *,
    root: Path | None = None,
    timeout: float = KAFKA_START_TIMEOUT,
) -> ServerProcess:
    """Start a single-node KRaft broker on 127.0.0.1:``port`` with its files in ``data_dir``.

    The storage is formatted on first use only, so a restart on the same ``data_dir`` keeps
    topics, messages and committed offsets. Returns once the broker answers a metadata
    request.
    """
    root = root or project_root()
    data_dir = data_dir.resolve()
    java = _which("java", _JAVA_HINT)
    _check_ports_free("Kafka", port, controller_port)
    libs = ensure_kafka_jars(root)
    deploy = root / "deploy" / "kafka"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = data_dir / "kraft"
    config = data_dir / "server.properties"
    _write_atomic(
        config,
        _render(
            deploy / "server.properties",
            {
                "BROKER_PORT": str(port),
                "CONTROLLER_PORT": str(controller_port),
                "LOG_DIR": str(log_dir),
            },
        ),
    )
    shutil.copyfile(deploy / "log4j2.properties", data_dir / "log4j2.properties")
    console = data_dir / "console.log"
    server_log = data_dir / "server.log"
    logs = [(console, _log_offset(console)), (server_log, _log_offset(server_log))]
    env = dict(os.environ)
    if not (log_dir / "meta.properties").is_file():
        _format_kafka(java, libs, data_dir, config, env, logs)
    pid = _spawn(_kafka_argv(java, libs, data_dir, "kafka.Kafka", str(config)), console, env)
    proc = ServerProcess("kafka", pid, port, data_dir, data_dir / "server.pid", server_log)
    _write_atomic(proc.pid_file, f"{pid}\n")
    _wait_ready(proc, kafka_answers, timeout, logs)
    return proc


def _format_kafka(
    java: str,
    libs: Path,
    data_dir: Path,
    config: Path,
    env: Mapping[str, str],
    logs: list[tuple[Path, int]],
) -> None:
    # --standalone makes this node the whole controller quorum (KIP-853); it still starts
    # when the ports change later, since a lone voter elects itself.
    argv = _kafka_argv(
        java,
        libs,
        data_dir,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _cluster_id(),
        "-c",
        str(config),
        "--standalone",
    )
    try:
        result = subprocess.run(  # noqa: S603 - a fixed argv built here, no shell
            argv,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=dict(env),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"formatting the Kafka storage in {data_dir} took over 120 s") from exc
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-LOG_TAIL_LINES:])
        raise StackError(
            f"formatting the Kafka storage in {data_dir} failed (exit code "
            f"{result.returncode})\n{output}\n{_tails(logs)}"
        )


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        buf += chunk
    return bytes(buf)


def _kafka_call(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"triage-stack"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    data = _recv_exact(sock, size)
    (got,) = struct.unpack_from(">i", data, 0)
    if got != corr:
        raise ConnectionError(f"correlation id {got}, expected {corr}")
    return data[4:]


_API_VERSIONS = 18
_METADATA = 3


def kafka_answers(port: int, host: str = HOST, timeout: float = 2.0) -> bool:
    """Whether a Kafka broker on ``host:port`` answers ApiVersions and a Metadata request
    that lists at least one broker.

    Spoken on a raw socket, so it works the same from plain code and from inside a running
    event loop, and logs nothing while the broker is still coming up.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            resp = _kafka_call(sock, _API_VERSIONS, 0, 1, b"")
            error, count = struct.unpack_from(">hi", resp, 0)
            if error != 0:
                return False
            versions = {}
            for i in range(count):
                key, low, high = struct.unpack_from(">hhh", resp, 6 + 6 * i)
                versions[key] = (low, high)
            if _METADATA not in versions:
                return False
            low, high = versions[_METADATA]
            # Versions 4 to 8 share a simple, non-flexible layout; 0 to 3 left in Kafka 4.
            version = max(4, low)
            if version > min(high, 8):
                return True
            body = struct.pack(">ib", 0, 0) + (b"\x00\x00" if version >= 8 else b"")
            meta = _kafka_call(sock, _METADATA, version, 2, body)
            (brokers,) = struct.unpack_from(">i", meta, 4)
            return bool(brokers > 0)
    except (OSError, struct.error):
        return False


# ---------------------------------------------------------------------------------------------
# SecantusDB


def start_mongo(
    data_dir: Path, port: int, *, timeout: float = MONGO_START_TIMEOUT
) -> ServerProcess:
    """Start SecantusDB on 127.0.0.1:``port`` with its WiredTiger files in ``data_dir/db``.

    Restarting on the same ``data_dir`` keeps every collection and index. Returns once the
    server answers ``ping``.
    """
    data_dir = data_dir.resolve()
    _check_ports_free("SecantusDB", port)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "secantusd.toml"
    # An explicit config file switches off SecantusDB's search of ./, ~/.secantus and /etc,
    # so a stray file on the machine cannot change the test server.
    _write_atomic(config, f'[storage]\ncache_size = "{MONGO_CACHE_SIZE}"\n')
    log_file = data_dir / "server.log"
    logs = [(log_file, _log_offset(log_file))]
    argv = [
        sys.executable,
        "-m",
        "secantus",
        "--config",
        str(config),
        "--host",
        HOST,
        "--port",
        str(port),
        "--storage-path",
        str(data_dir / "db"),
        "--log-level",
        "WARNING",
    ]
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    pid = _spawn(argv, log_file, env)
    proc = ServerProcess("mongo", pid, port, data_dir, data_dir / "server.pid", log_file)
    _write_atomic(proc.pid_file, f"{pid}\n")
    _wait_ready(proc, mongo_answers, timeout, logs)
    return proc


def mongo_answers(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    """Whether a MongoDB-protocol server on ``host:port`` answers ``ping``."""
    # Imported here, not at the top: only the readiness check talks to the database.
    import pymongo
    from pymongo.errors import PyMongoError

    ms = int(timeout * 1000)
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        host,
        port,
        directConnection=True,
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
    )
    try:
        reply = client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return bool(reply.get("ok"))


# ---------------------------------------------------------------------------------------------
# `triage stack`


def _loopback(host: str, what: str, value: str) -> None:
    if host not in ("127.0.0.1", "localhost"):
        raise StackError(
            f"{what}={value} points at {host}, not this machine: `triage stack` serves "
            f"{HOST} only (unset {what} to use the local stack)"
        )


def _split_host_port(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    if not port_text:
        return host, default_port
    if not port_text.isdigit():
        raise StackError(f"bad port in {text!r}")
    return host, int(port_text)


def kafka_port_from_env(env: Mapping[str, str]) -> int:
    """The broker port from KAFKA_BOOTSTRAP_SERVERS (its first entry)."""
    value = env.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_KAFKA_BOOTSTRAP
    first = value.split(",")[0].strip()
    first = first.split("://", 1)[-1]
    host, port = _split_host_port(first, 9092)
    _loopback(host, "KAFKA_BOOTSTRAP_SERVERS", value)
    return port


def mongo_port_from_env(env: Mapping[str, str]) -> int:
    """The server port from MONGODB_URI (its first host)."""
    value = env.get("MONGODB_URI") or DEFAULT_MONGODB_URI
    if not value.startswith("mongodb://"):
        raise StackError(f"MONGODB_URI={value} is not a mongodb:// address of this machine")
    hosts = value.removeprefix("mongodb://")
    hosts = re.split(r"[/?]", hosts, maxsplit=1)[0].rpartition("@")[2]
    host, port = _split_host_port(hosts.split(",")[0], 27017)
    _loopback(host, "MONGODB_URI", value)
    return port


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
        pid = _read_pid(data_dir / "server.pid")
        if pid is not None and _is_server(pid, data_dir):
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
                if time.monotonic() >= deadline or not _is_server(pid, data_dir):
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
        for name, data_dir in (("mongo", self.mongo_dir), ("kafka", self.kafka_dir)):
            pid = _read_pid(data_dir / "server.pid")
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
