"""The MongoDB store: one document per ticket with its decisions, plus dead-letter records.

The only package that imports pymongo (in ``mongo``). ``MemoryTicketStore`` keeps the same
contract in memory for unit tests. Writes are idempotent: replaying a batch changes nothing,
since a ticket is keyed by ticket_id, a decision is pushed only when its decision_id is not
there yet, and a dead letter is keyed by its source topic, partition and offset. Daily
statistics counters (``counters``) are kept with every write, exactly once, and read by the
statistics from a copy in memory (``counter_cache``). Model artifacts live in GridFS
(``model_files``), so that every replica can load every version.
"""

from triage.adapters.store.counter_cache import CounterCache, CounterView, Grain, Parts
from triage.adapters.store.counters import COUNTERS, MongoCounters, RebuildResult, counter_documents
from triage.adapters.store.hotspots import (
    HOTSPOT_INDEXES,
    HotspotQuery,
    HotspotStore,
    HotspotWrite,
    MongoHotspotStore,
)
from triage.adapters.store.memory import MemoryTicketStore
from triage.adapters.store.model_files import (
    MemoryModelFiles,
    ModelFiles,
    MongoModelFiles,
    StoredFile,
    StoredModel,
)
from triage.adapters.store.mongo import MongoTicketStore
from triage.adapters.store.outcomes import settled_tickets
from triage.adapters.store.records import (
    TICKET_INDEXES,
    DeadLetterRecord,
    EventWrite,
    StoreCounts,
    TicketRecord,
    TicketStore,
    first_department,
    new_document,
    ticket_update,
)
from triage.adapters.store.shadow import MemoryShadowState, MongoShadowState, ShadowState

__all__ = [
    "COUNTERS",
    "HOTSPOT_INDEXES",
    "TICKET_INDEXES",
    "CounterCache",
    "CounterView",
    "DeadLetterRecord",
    "EventWrite",
    "Grain",
    "HotspotQuery",
    "HotspotStore",
    "HotspotWrite",
    "MemoryModelFiles",
    "MemoryShadowState",
    "MemoryTicketStore",
    "ModelFiles",
    "MongoCounters",
    "MongoHotspotStore",
    "MongoModelFiles",
    "MongoShadowState",
    "MongoTicketStore",
    "Parts",
    "RebuildResult",
    "ShadowState",
    "StoreCounts",
    "StoredFile",
    "StoredModel",
    "TicketRecord",
    "TicketStore",
    "counter_documents",
    "first_department",
    "new_document",
    "settled_tickets",
    "ticket_update",
]
