"""Loopback ports: free ones for tests, busy ones refused, those named by the environment."""

from __future__ import annotations

import errno
import random
import re
import socket
from collections.abc import Mapping
from pathlib import Path

from triage.adapters.stack.process import HOST
from triage.core.errors import StackError

DEFAULT_KAFKA_BOOTSTRAP = f"{HOST}:9092"
DEFAULT_MONGODB_URI = f"mongodb://{HOST}:27017"


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


def check_ports_free(name: str, *ports: int) -> None:
    for port in ports:
        if port_in_use(port):
            raise StackError(
                f"cannot start {name}: port {port} on {HOST} is already in use "
                "(another server, or one left from an earlier run)"
            )


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
