"""The counter documents in memory, for the statistics endpoints.

SecantusDB reads a few thousand documents a second, so reading every counter document of a
range at each request would cost seconds at a year's history. The copy is brought up to date
at most once a REFRESH_S with only the documents changed since the last look (``updated_at``,
stamped by the server, indexed), looking back _OVERLAP further for writes that were in
flight; a rebuild changes the generation document and the copy is reloaded whole.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

__all__ = ["REFRESH_S", "CounterCache", "select"]

Doc = dict[str, Any]
REFRESH_S = 1.0
_OVERLAP = timedelta(seconds=2)


class CounterCache:
    """The counter documents in memory: a statistics request reads no more from the database
    than what changed in the last second, whatever the history and the range."""

    def __init__(self, collection: AsyncCollection[Doc], *, generation: str) -> None:
        self.collection = collection
        self.generation_id = generation
        self.docs: dict[str, Doc] = {}
        self.since: datetime | None = None
        self.generation: object = None
        self.checked = float("-inf")
        self._lock = asyncio.Lock()

    async def read(self) -> list[Doc]:
        """Every counter document (without ``ops``), at most REFRESH_S old."""
        if time.monotonic() - self.checked >= REFRESH_S:
            async with self._lock:
                if time.monotonic() - self.checked >= REFRESH_S:
                    await self._refresh()
        return list(self.docs.values())

    async def _refresh(self) -> None:
        started = time.monotonic()
        # The server's clock, which stamped updated_at: the next look starts from here.
        hello = await self.collection.database.client.admin.command("hello")
        server_now = hello.get("localTime")
        if not isinstance(server_now, datetime):
            server_now = datetime.now(UTC)
        elif server_now.tzinfo is None:
            server_now = server_now.replace(tzinfo=UTC)
        query: Doc = {} if self.since is None else {"updated_at": {"$gte": self.since - _OVERLAP}}
        rows = await self.collection.find(query, projection={"ops": 0}).to_list()
        generation = next((r.get("value") for r in rows if r["_id"] == self.generation_id), None)
        if self.since is not None and generation is not None and generation != self.generation:
            # Rebuilt: documents may have gone; start again from nothing.
            self.docs, self.since, self.generation = {}, None, generation
            await self._refresh()
            return
        if generation is not None:
            self.generation = generation
        for row in rows:
            if row["_id"] != self.generation_id:
                self.docs[str(row["_id"])] = row
        self.since = server_now
        self.checked = started


def select(docs: list[Doc], pipeline: list[Doc]) -> list[Doc] | None:
    """The documents a statistics pipeline (one ``$match`` on kind, day range and department)
    selects, in one pass; None for any other pipeline (run it with the general evaluator)."""
    if len(pipeline) != 1 or set(pipeline[0]) != {"$match"}:
        return None
    spec = pipeline[0]["$match"]
    if not set(spec) <= {"kind", "day", "department"} or set(spec.get("kind", {})) != {"$in"}:
        return None
    days = spec.get("day", {})
    if not isinstance(days, dict) or not set(days) <= {"$gte", "$lte"}:
        return None
    kinds = frozenset(spec["kind"]["$in"])
    low, high = days.get("$gte"), days.get("$lte")
    department = spec.get("department")
    narrow = "department" in spec
    return [
        d
        for d in docs
        if d.get("kind") in kinds
        and (low is None or d["day"] >= low)
        and (high is None or d["day"] <= high)
        and (not narrow or d.get("department") == department)
    ]
