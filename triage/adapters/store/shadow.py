"""Which model version runs in shadow: one small document every replica polls.

Kept apart from ``model_activations`` (whose records rollbacks walk) in its own collection,
``model_shadow``, as one document ``{_id: "shadow", version, at, by}``; ``version`` None
means no shadow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo.errors import PyMongoError

from triage.adapters.store.mongo import MongoTicketStore, translate_error
from triage.adapters.store.records import Doc
from triage.core.errors import StoreUnavailableError

__all__ = ["MemoryShadowState", "MongoShadowState", "ShadowState"]

_ID = "shadow"


class ShadowState(Protocol):
    async def current(self) -> Doc | None: ...
    async def set(self, version: str | None, by: str) -> None: ...


class MongoShadowState:
    """The shadow document in the store's database."""

    def __init__(self, store: MongoTicketStore) -> None:
        self._coll: Any = store.tickets.database["model_shadow"]

    async def current(self) -> Doc | None:
        try:
            doc: Doc | None = await self._coll.find_one({"_id": _ID})
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return doc

    async def set(self, version: str | None, by: str) -> None:
        try:
            await self._coll.update_one(
                {"_id": _ID},
                {"$set": {"version": version, "at": datetime.now(UTC), "by": by}},
                upsert=True,
            )
        except PyMongoError as exc:
            raise translate_error(exc) from exc


@dataclass
class MemoryShadowState:
    """The same in memory; ``down`` fails every call as if MongoDB were unreachable."""

    doc: Doc | None = None
    down: bool = False
    history: list[str | None] = field(default_factory=list)

    async def current(self) -> Doc | None:
        if self.down:
            raise StoreUnavailableError("memory store is down")
        return self.doc

    async def set(self, version: str | None, by: str) -> None:
        if self.down:
            raise StoreUnavailableError("memory store is down")
        self.doc = {"_id": _ID, "version": version, "at": datetime.now(UTC), "by": by}
        self.history.append(version)
