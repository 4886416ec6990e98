"""Publishing: a small interface, the aiokafka implementation and an in-memory one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.exceptions import ProduceError

__all__ = ["KafkaProducer", "MemoryProducer", "Outgoing", "Producer"]

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = ()


class Producer(Protocol):
    async def send_all(self, records: Sequence[Outgoing]) -> None:
        """Return once the broker acknowledged every record; raise ProduceError otherwise."""
        ...


class KafkaProducer:
    def __init__(self, bootstrap: str, *, client_id: str = "triage") -> None:
        # acks=all with idempotence: a broker retry never duplicates a record in the log.
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def ping(self) -> None:
        """Raise unless the cluster metadata can be fetched."""
        await self._producer.client.fetch_all_metadata()

    async def topics(self) -> set[str]:
        """The topics the cluster's metadata lists now."""
        metadata = await self._producer.client.fetch_all_metadata()
        return set(metadata.topics())

    async def send_all(self, records: Sequence[Outgoing]) -> None:
        try:
            futures = [
                await self._producer.send(r.topic, r.value, key=r.key, headers=list(r.headers))
                for r in records
            ]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise ProduceError(f"publish failed: {type(exc).__name__}: {exc}") from exc


@dataclass
class MemoryProducer:
    """Keeps what was sent; ``fail_times`` makes the next calls fail as a broker outage would."""

    sent: list[Outgoing] = field(default_factory=list)
    fail_times: int = 0

    async def send_all(self, records: Sequence[Outgoing]) -> None:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ProduceError("memory producer told to fail")
        self.sent.extend(records)

    def topics(self) -> dict[str, list[Outgoing]]:
        out: dict[str, list[Outgoing]] = {}
        for record in self.sent:
            out.setdefault(record.topic, []).append(record)
        return out
