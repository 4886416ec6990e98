"""Local servers for `triage stack` and the integration tests.

The Apache Kafka broker (KRaft, one node, jars fetched by ``deploy/kafka/pom.xml``) and the
MongoDB-protocol server SecantusDB run as detached processes bound to 127.0.0.1, each with a
data dir holding its files, its log and a pid file. They are stopped by process id only.

This is the one package that knows how those servers are launched: `process` (spawn, watch,
stop, logs), `ports`, `kafka`, `mongo`, `owners` (servers owned by a test session, a benchmark
or a script, and the orphans of killed ones), and `command` (`triage stack up|down|status`).
Kafka's readiness is spoken on a raw socket; MongoDB's ping comes from the store package, the
one that speaks to MongoDB.
"""

from __future__ import annotations

from triage.adapters.stack.command import Stack, add_arguments, run
from triage.adapters.stack.kafka import ensure_kafka_jars, kafka_answers, start_kafka
from triage.adapters.stack.mongo import start_mongo
from triage.adapters.stack.owners import Orphan, owned_run, reap_orphans, runs_dir
from triage.adapters.stack.ports import free_port, port_in_use
from triage.adapters.stack.process import HOST, ServerProcess, kill, stop, stop_child
from triage.adapters.store.ping import mongo_answers
from triage.core.errors import StackError

__all__ = [
    "HOST",
    "Orphan",
    "ServerProcess",
    "Stack",
    "StackError",
    "add_arguments",
    "ensure_kafka_jars",
    "free_port",
    "kafka_answers",
    "kill",
    "mongo_answers",
    "owned_run",
    "port_in_use",
    "reap_orphans",
    "run",
    "runs_dir",
    "start_kafka",
    "start_mongo",
    "stop",
    "stop_child",
]
