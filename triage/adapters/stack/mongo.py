"""SecantusDB, the MongoDB-protocol server on WiredTiger, and its readiness probe."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from triage.adapters.stack.ports import check_ports_free
from triage.adapters.stack.process import (
    HOST,
    ServerProcess,
    log_offset,
    spawn,
    wait_ready,
    write_atomic,
)
from triage.adapters.store.ping import mongo_answers
from triage.core.errors import StackError

# WiredTiger defaults to a 1 GB cache; the test data is tiny.
MONGO_CACHE_SIZE = "256M"
MONGO_START_TIMEOUT = 30.0


def start_mongo(
    data_dir: Path, port: int, *, timeout: float = MONGO_START_TIMEOUT
) -> ServerProcess:
    """Start SecantusDB on 127.0.0.1:``port`` with its WiredTiger files in ``data_dir/db``.

    Restarting on the same ``data_dir`` keeps every collection and index. Returns once the
    server answers ``ping``.
    """
    if importlib.util.find_spec("secantus") is None:
        # The service image leaves the local servers out (extra `stack`).
        raise StackError("SecantusDB is not installed: pip install 'hotline-triage[stack]'")
    data_dir = data_dir.resolve()
    check_ports_free("SecantusDB", port)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "secantusd.toml"
    # An explicit config file switches off SecantusDB's search of ./, ~/.secantus and /etc,
    # so a stray file on the machine cannot change the test server.
    write_atomic(config, f'[storage]\ncache_size = "{MONGO_CACHE_SIZE}"\n')
    log_file = data_dir / "server.log"
    logs = [(log_file, log_offset(log_file))]
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
    pid = spawn(argv, log_file, env)
    proc = ServerProcess("mongo", pid, port, data_dir, data_dir / "server.pid", log_file)
    write_atomic(proc.pid_file, f"{pid}\n")
    wait_ready(proc, mongo_answers, timeout, logs)
    return proc
