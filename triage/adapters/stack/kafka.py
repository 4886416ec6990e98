"""The Apache Kafka broker: jars fetched once with Maven, one KRaft node, a wire-level probe."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import socket
import struct
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from triage.adapters.stack.ports import check_ports_free
from triage.adapters.stack.process import (
    HOST,
    LOG_TAIL_LINES,
    ServerProcess,
    locked,
    log_offset,
    project_root,
    spawn,
    tails,
    wait_ready,
    which,
    write_atomic,
)
from triage.core.errors import StackError

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

KAFKA_START_TIMEOUT = 90.0
MVN_TIMEOUT = 1200.0

_JAVA_HINT = "the Kafka broker needs Java 17 or newer (Debian: openjdk-17-jre-headless)"
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KAFKA_JAR_GLOB = "kafka_2.13-*.jar"


def kafka_libs_dir(root: Path) -> Path:
    """Where the broker jars are kept, outside ``var/stack`` so wiping data keeps the jars."""
    return root / "var" / "kafka" / "libs"


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
    with locked(libs.parent / ".fetch.lock"):
        if _jars_current(libs, digest):
            return libs
        which("java", _JAVA_HINT)
        mvn = which("mvn", "Maven fetches the Kafka broker jars (Debian: maven)")
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
    java = which("java", _JAVA_HINT)
    check_ports_free("Kafka", port, controller_port)
    libs = ensure_kafka_jars(root)
    deploy = root / "deploy" / "kafka"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = data_dir / "kraft"
    config = data_dir / "server.properties"
    write_atomic(
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
    logs = [(console, log_offset(console)), (server_log, log_offset(server_log))]
    env = dict(os.environ)
    if not (log_dir / "meta.properties").is_file():
        _format_kafka(java, libs, data_dir, config, env, logs)
    pid = spawn(_kafka_argv(java, libs, data_dir, "kafka.Kafka", str(config)), console, env)
    proc = ServerProcess("kafka", pid, port, data_dir, data_dir / "server.pid", server_log)
    write_atomic(proc.pid_file, f"{pid}\n")
    wait_ready(proc, kafka_answers, timeout, logs)
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
            f"{result.returncode})\n{output}\n{tails(logs)}"
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
