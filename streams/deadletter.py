"""Dead letters: a refused message keeps its original bytes; why and where go in headers."""

from __future__ import annotations

from streams.producer import Outgoing
from triage.adapters.store import DeadLetterRecord

__all__ = ["dead_letter"]


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    *,
    deadletter_topic: str,
) -> tuple[Outgoing, DeadLetterRecord]:
    """The record to publish and the one to count in the store, for one refused message."""
    raw = value or b""
    headers = (
        ("reason", reason.encode()),
        ("source_topic", topic.encode()),
        ("source_partition", str(partition).encode()),
        ("source_offset", str(offset).encode()),
    )
    record = DeadLetterRecord(
        topic=topic, partition=partition, offset=offset, reason=reason, size=len(raw)
    )
    return Outgoing(deadletter_topic, key, raw, headers), record
