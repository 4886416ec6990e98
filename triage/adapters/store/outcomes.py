"""Settled tickets read back for training, streamed with a cursor in settled-time order.

A ticket's ``accepted_at`` is written with each accept (``event_update``): it is the time it
settled with the department it is with now. A sparse index on it skips every ticket never
accepted, so it costs nothing on the consumer's inserts, and an export of a time window reads
only that window however long the history grows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from triage.adapters.store.mongo import SETTLED_INDEX, MongoTicketStore, translate_error
from triage.adapters.store.records import Doc
from triage.core.settlement import SETTLED_STATUSES

__all__ = ["SETTLED_INDEX", "ensure_outcome_indexes", "settled_tickets"]

# Only what an example needs: the evidence and decisions stay in the database.
_FIELDS = (
    "title",
    "body",
    "status",
    "department",
    "auto_routed",
    "first_department",
    "first_label",
    "accepted_at",
    # For a merged bureau: the label an agent stated, and what the model scored.
    "assignments",
    "decisions.top_k",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def ensure_outcome_indexes(tickets: Any) -> None:
    """The settled-time index on ``tickets`` (idempotent)."""
    await tickets.create_indexes([SETTLED_INDEX])


async def settled_tickets(
    store: MongoTicketStore,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = 2_000,
) -> AsyncIterator[Doc]:
    """Tickets accepted or resolved, settled in [since, until), oldest first, a batch at a time."""
    window: Doc = {"$gte": since or _EPOCH}
    if until is not None:
        window["$lt"] = until
    query = {"accepted_at": window, "status": {"$in": list(SETTLED_STATUSES)}}
    try:
        await ensure_outcome_indexes(store.tickets)
        cursor = (
            store.tickets.find(query, dict.fromkeys(_FIELDS, 1))
            .sort("accepted_at", ASCENDING)
            .batch_size(batch_size)
        )
        async for doc in cursor:
            yield doc
    except PyMongoError as exc:
        raise translate_error(exc) from exc
