"""Local servers for `triage stack` and the integration tests.

The Apache Kafka broker (KRaft, one node, jars fetched by ``deploy/kafka/pom.xml``) and the
MongoDB-protocol server SecantusDB run as detached processes bound to 127.0.0.1, each with a
data dir holding its files, its log and a pid file. They are stopped by process id only.

This is the one package that knows how those servers are launched: `process` (spawn, watch,
stop, logs), `ports`, `kafka`, `mongo`, and `command` (`triage stack up|down|status`). The
driver libraries are imported inside the readiness checks only, so importing it stays cheap.
"""

from __future__ import annotations

from triage.adapters.stack.command import Stack, add_arguments, run
from triage.adapters.stack.kafka import ensure_kafka_jars, kafka_answers, start_kafka
from triage.adapters.stack.mongo import mongo_answers, start_mongo
from triage.adapters.stack.ports import free_port, port_in_use
from triage.adapters.stack.process import HOST, ServerProcess, kill, stop
from triage.core.errors import StackError

__all__ = [
    "HOST",
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
