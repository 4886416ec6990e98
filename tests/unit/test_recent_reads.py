"""RecentReads: documents read a moment ago are not read again; older ones are."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from triage.adapters.recent_reads import RecentReads


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Store:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs, self.asked = docs, list[list[str]]()

    async def fetch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        self.asked.append(list(ids))
        return {i: self.docs[i] for i in ids if i in self.docs}

    async def get(self, key: str) -> dict[str, Any] | None:
        return (await self.fetch([key])).get(key)


def test_reads_only_what_was_not_read_lately() -> None:
    clock, store = Clock(), Store({"a": {"s": 1}, "b": {"s": 2}})
    recent = RecentReads(ttl_s=2.0, clock=clock)
    assert asyncio.run(recent.many(["a", "b", "a", "gone"], store.fetch)) == {
        "a": {"s": 1},
        "b": {"s": 2},
    }
    assert store.asked == [["a", "b", "gone"]]
    store.docs["a"] = {"s": 9}
    clock.now += 1.9
    # within the time to live: neither the found nor the missing id is read again
    assert asyncio.run(recent.many(["a", "gone"], store.fetch)) == {"a": {"s": 1}}
    assert len(store.asked) == 1
    clock.now += 0.2
    assert asyncio.run(recent.many(["a", "b"], store.fetch)) == {"a": {"s": 9}, "b": {"s": 2}}
    assert store.asked[-1] == ["a", "b"]


def test_one_and_the_bound_on_size() -> None:
    clock, store = Clock(), Store({str(i): {"i": i} for i in range(10)})
    recent = RecentReads(ttl_s=60.0, size=3, clock=clock)
    for i in range(10):
        assert asyncio.run(recent.one(str(i), store.get)) == {"i": i}
    assert len(recent) == 3
    asyncio.run(recent.one("0", store.get))  # left long ago: read again
    assert store.asked[-1] == ["0"]
    assert asyncio.run(recent.one("nothing", store.get)) is None


def test_refuses_a_meaningless_setting() -> None:
    with pytest.raises(ValueError):
        RecentReads(size=0)
