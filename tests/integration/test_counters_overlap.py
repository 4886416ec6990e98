"""Two writers of the same tickets on SecantusDB (a rebalance overlap, a replica that flushes
after its partitions moved): the counters still count every ticket exactly once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest

from tests.integration.test_counters_flush import BATCHES, Stores, _assert_exact, stores
from triage.adapters.store import MongoTicketStore

pytestmark = pytest.mark.integration

__all__ = ["stores"]  # the fixture, shared with the flush tests


class PausedInsert:
    """The tickets collection of one writer whose insert stops half way until ``go`` is set,
    as a large insert is still running on the server when another writer meets its tickets."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.halfway = asyncio.Event()
        self.go = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def insert_many(self, docs: Sequence[Any], ordered: bool = True) -> Any:
        half = len(docs) // 2
        await self.real.insert_many(docs[:half], ordered=ordered)
        self.halfway.set()
        await self.go.wait()
        return await self.real.insert_many(docs[half:], ordered=ordered)


async def _total(store: MongoTicketStore) -> int:
    """Tickets counted in the state counters (each ticket is in exactly one)."""
    stored = await store.counters.stored()
    return sum(
        n for doc, fields in stored.items() for f, n in fields.items() if f.startswith("status.")
    )


async def test_a_replica_meeting_tickets_whose_insert_is_still_running(stores: Stores) -> None:
    """A replica replays the first half of a batch another replica is still inserting: it
    leaves that batch to its writer, which counts all of it; nothing short, nothing twice."""
    first, second = await stores.start(), await stores.start()
    paused = PausedInsert(first.tickets)
    first.tickets = paused  # type: ignore[assignment]
    batch = BATCHES[0] + BATCHES[1]
    writing = asyncio.create_task(first.upsert_batch(batch, defer_counts=True))
    await paused.halfway.wait()
    await second.upsert_batch(batch[:10], defer_counts=True)  # all ten stored by the first
    await second.counters.flush()
    paused.go.set()
    await writing
    await first.counters.flush()
    await _assert_exact(second)
    assert await _total(second) == len(batch)
    assert await second.counters.journal.count_documents({}) == 0


async def test_counts_held_while_the_partitions_move_are_counted_once(stores: Stores) -> None:
    """A replica holds three batches' counts for its next flush when its partitions move; the
    new owner replays them and counts them; the old owner's flush then leaves them out."""
    old, new = await stores.start(), await stores.start()
    for batch in BATCHES:
        await old.upsert_batch(batch, defer_counts=True)
    for batch in BATCHES:
        await new.upsert_batch(batch, defer_counts=True)
    await new.counters.flush()
    await old.counters.flush()  # the retried or late flush of the replica that lost them
    await _assert_exact(new)
    assert await _total(new) == sum(map(len, BATCHES))
    assert await new.counters.journal.count_documents({}) == 0


async def test_a_flush_retried_after_the_new_owner_replayed(stores: Stores) -> None:
    """The old owner's flush fails after claiming its batches; the new owner replays them and
    completes that flush; the retry changes nothing."""
    old, new = await stores.start(), await stores.start()
    for batch in BATCHES:
        await old.upsert_batch(batch, defer_counts=True)
    real = old.counters.apply
    calls = 0

    async def fail_once(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("MongoDB went away")
        await real(*args, **kwargs)

    old.counters.apply = fail_once  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await old.counters.flush()
    for batch in BATCHES:
        await new.upsert_batch(batch, defer_counts=True)
    await new.counters.flush()
    await old.counters.flush()
    await _assert_exact(new)
    assert await _total(new) == sum(map(len, BATCHES))


async def test_two_replicas_writing_the_same_batches_at_once(stores: Stores) -> None:
    """Two replicas write the same batches concurrently, in different orders and sizes, and
    flush at different times: every ticket is counted once."""
    a, b = await stores.start(), await stores.start()
    tickets = [t for batch in BATCHES for t in batch]
    rng = random.Random(12345)

    async def write(store: MongoTicketStore, seed: int) -> None:
        order = list(tickets)
        random.Random(seed).shuffle(order)
        i = 0
        while i < len(order):
            n = rng.randint(5, 25)
            await store.upsert_batch(order[i : i + n], defer_counts=True)
            i += n
            if rng.random() < 0.3:
                await store.counters.flush()
        await store.counters.flush()

    await asyncio.gather(write(a, 1), write(b, 2))
    await _assert_exact(a)
    assert await _total(a) == len(tickets)
    assert await a.counters.journal.count_documents({}) == 0
