"""Documents read from MongoDB a moment ago, by id, for the answers given while a citizen is on
the line.

`POST /v1/suggest` names similar tickets with their title, department and status, and the hot
spot the text would join; agents ask for suggestions at hundreds a second across a centre,
mostly about the same few problems. Reading those documents again for every request made the
database and the driver the limit (p99 in seconds at 200 requests/s while the consumers
worked). A document read less than ``ttl_s`` ago is answered from here: a status at most that
old is still what the agent needs, and every replica's copy ages the same way. Ids that were
not found are remembered too, for as long. At most ``size`` ids are kept, the least recently
read leaving first, so memory is bounded whatever the history.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["RecentReads"]

Doc = dict[str, Any]
Fetch = Callable[[list[str]], Awaitable[dict[str, Doc]]]


class RecentReads:
    """``many(ids, fetch)``: the documents of ``ids``, fetching only those not read lately."""

    def __init__(
        self,
        ttl_s: float = 2.0,
        size: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 0 or size < 1:
            raise ValueError("ttl_s must be >= 0 and size >= 1")
        self.ttl_s, self.size, self._clock = ttl_s, size, clock
        # id -> (read at, document or None when not found); oldest read first
        self._kept: OrderedDict[str, tuple[float, Doc | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    async def many(self, ids: Sequence[str], fetch: Fetch) -> dict[str, Doc]:
        now = self._clock()
        found: dict[str, Doc] = {}
        missing: list[str] = []
        for key in dict.fromkeys(ids):
            kept = self._kept.get(key)
            if kept is not None and now - kept[0] < self.ttl_s:
                if kept[1] is not None:
                    found[key] = kept[1]
            else:
                missing.append(key)
        if missing:
            fetched = await fetch(missing)
            read_at = self._clock()
            for key in missing:
                doc = fetched.get(key)
                self._kept.pop(key, None)
                self._kept[key] = (read_at, doc)
                if doc is not None:
                    found[key] = doc
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return found

    async def one(self, key: str, fetch: Callable[[str], Awaitable[Doc | None]]) -> Doc | None:
        async def fetch_one(keys: list[str]) -> dict[str, Doc]:
            doc = await fetch(keys[0])
            return {} if doc is None else {keys[0]: doc}

        return (await self.many([key], fetch_one)).get(key)
