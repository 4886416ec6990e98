"""Decided tickets back in `received_at` order before detection. No Kafka client here.

The routing stage decides each partition of the tickets topic in order, but its replicas (and
its batches, which take a share of every partition) interleave the partitions in
``<prefix>.decided`` days apart when working through a backlog. Each decided ticket names the
tickets partition it came from; ``Merger`` keeps one queue per source partition and releases
the oldest head only while every source partition has a queued ticket, or is known to have
nothing more to send (the routing stage has committed all of it and the stage has read all
of ``decided``): a k-way merge of ordered streams, as Kafka Streams picks by timestamp among a
task's partitions. Offsets in ``decided`` are committed up to the oldest ticket still queued.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Merger", "Queued"]


@dataclass(frozen=True, slots=True)
class Queued:
    """A ticket waiting in the merge, with where it came from and where it sits in `decided`."""

    source: int  # partition of the tickets topic
    offset: int  # offset in the decided topic
    received_at: datetime
    item: object


class Merger:
    """Per-source queues of decided tickets, released in ``received_at`` order."""

    def __init__(self, sources: int) -> None:
        self.sources = sources
        self._queues: dict[int, deque[Queued]] = {s: deque() for s in range(sources)}
        self._next_offset: int | None = None  # one past the last offset added

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def __bool__(self) -> bool:
        return any(self._queues.values())

    def add(self, queued: Iterable[Queued]) -> None:
        for q in queued:
            self._queues.setdefault(q.source, deque()).append(q)
            self._next_offset = max(self._next_offset or 0, q.offset + 1)

    def skip(self, offset: int) -> None:
        """An offset dealt with at once (a dead letter): committed with the rest."""
        self._next_offset = max(self._next_offset or 0, offset + 1)

    def empty_sources(self) -> set[int]:
        return {s for s, q in self._queues.items() if not q}

    def release(self, idle: set[int] | None = None, *, force: bool = False) -> list[Queued]:
        """The tickets that can go now, oldest first: while no source outside ``idle`` is
        empty (or all of them with ``force``)."""
        idle = idle or set()
        heads = [(q[0].received_at, q[0].offset, s) for s, q in self._queues.items() if q]
        heapq.heapify(heads)
        out: list[Queued] = []
        while heads:
            if not force and any(not q and s not in idle for s, q in self._queues.items()):
                break
            _, _, source = heapq.heappop(heads)
            queue = self._queues[source]
            out.append(queue.popleft())
            if queue:
                heapq.heappush(heads, (queue[0].received_at, queue[0].offset, source))
        return out

    def commit_offset(self) -> int | None:
        """Where `decided` may be committed: the oldest queued ticket, else past the last."""
        queued = [q[0].offset for q in self._queues.values() if q]
        return min(queued) if queued else self._next_offset

    def clear(self) -> None:
        for queue in self._queues.values():
            queue.clear()
        self._next_offset = None
