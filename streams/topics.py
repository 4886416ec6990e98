"""Create the topics the service reads and writes, so nothing depends on broker auto-creation."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from triage.core.departments import Registry
from triage.core.settings import Topics

__all__ = ["TICKET_PARTITIONS", "ensure_topics", "topic_names"]

# Partitions bound how many service replicas share the work; six suits two to six replicas.
TICKET_PARTITIONS = 6


def topic_names(topics: Topics, registry: Registry) -> dict[str, int]:
    """Every topic of the data flow with its partition count."""
    names = {
        topics.tickets: TICKET_PARTITIONS,
        topics.review: 3,
        topics.deadletter: 1,
        topics.events: 3,
        # One partition each: the hot-spot stage must see every ticket in one place and in
        # order (README, "Streaming"); a hotline's whole flow is far below one owner's rate.
        topics.decided: 1,
        topics.detected: 1,
    }
    for dept in registry.departments:
        names[topics.routed(dept.code)] = 1
    return names


async def ensure_topics(
    bootstrap: str, topics: Topics, registry: Registry, *, replication: int = 1
) -> list[str]:
    """Create the missing topics; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="triage-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, partitions, replication)
            for name, partitions in topic_names(topics, registry).items()
            if name not in existing
        ]
        if wanted:
            # Another replica may have created them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        await admin.close()
