"""Decided tickets back in `received_at` order before detection. No Kafka client here.

The routing stage decides each partition of the tickets topic in order, but its replicas (and
its batches, which take a share of every partition) interleave the partitions in
``<prefix>.decided`` days apart when working through a backlog. Each decided ticket names the
tickets partition it came from; ``Merger`` keeps one queue per source partition and releases
a ticket only once every source partition has queued one received after it, or is known to
have nothing more to send (the routing stage has committed all of it and the stage has read
all of ``decided``): a k-way merge of ordered streams, as Kafka Streams picks by timestamp
among a task's partitions. Tickets received at the same time go out by ticket id, whichever
partition or batch brought them: the one order in which every process detects and follows.
Offsets in ``decided`` are committed up to the oldest ticket still queued.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Merger", "Queued", "StallTimer"]


@dataclass(frozen=True, slots=True)
class Queued:
    """A ticket waiting in the merge, with where it came from and where it sits in `decided`."""

    source: int  # partition of the tickets topic
    offset: int  # offset in the decided topic
    received_at: datetime
    ticket_id: str
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

    @property
    def next_offset(self) -> int:
        """One past the last offset added or skipped."""
        return self._next_offset or 0

    def newest(self, source: int) -> int:
        """The offset of the last ticket queued from ``source`` (-1 if none is queued)."""
        queue = self._queues.get(source)
        return queue[-1].offset if queue else -1

    def release(self, idle: set[int] | None = None, *, force: bool = False) -> list[Queued]:
        """The tickets that can go now, in (`received_at`, ticket id) order: those received
        before the newest queued ticket of every source outside ``idle`` (a source sends in
        time order, so nothing it sends later comes before them or at the same time); every
        queued ticket with ``force``, or once each source left is idle."""
        idle = idle or set()
        bound: datetime | None = None
        if not force:
            waiting = [q for s, q in self._queues.items() if s not in idle]
            if any(not q for q in waiting):
                return []
            bound = min((q[-1].received_at for q in waiting), default=None)
        out: list[Queued] = []
        for queue in self._queues.values():
            while queue and (bound is None or queue[0].received_at < bound):
                out.append(queue.popleft())
        out.sort(key=lambda q: (q.received_at, q.ticket_id, q.offset))
        return out

    def commit_offset(self) -> int | None:
        """Where `decided` may be committed: the oldest queued ticket, else past the last."""
        queued = [q[0].offset for q in self._queues.values() if q]
        return min(queued) if queued else self._next_offset

    def clear(self) -> None:
        for queue in self._queues.values():
            queue.clear()
        self._next_offset = None


class StallTimer:
    """How long the merge has held tickets back while fetching: past ``limit_s`` a partition
    is taken as stalled and the queued tickets go without it (out of order for it). Time spent
    not fetching on purpose (waiting for routing's backlog) or before a rebuild does not count:
    released then, tickets would go out of order with no partition stalled at all."""

    def __init__(self, limit_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_s, self._clock = limit_s, clock
        self._since: float | None = None

    def reset(self) -> None:
        self._since = None

    def note(self, *, released: bool, queued: bool) -> None:
        """After a release: the wait ends with any ticket released, or nothing queued."""
        if released or not queued:
            self._since = None
        elif self._since is None:
            self._since = self._clock()

    def expired(self) -> bool:
        return self._since is not None and self._clock() - self._since > self.limit_s
