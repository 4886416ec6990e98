"""The store's contract in memory, for unit tests and the API's tests without a server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from triage.adapters.store.counter_cache import CounterView, Grain, Parts
from triage.adapters.store.records import (
    Collection,
    DeadLetterRecord,
    Doc,
    EventWrite,
    StoreCounts,
    TicketRecord,
    event_update,
    store_counts,
    ticket_update,
)
from triage.core import counters
from triage.core.aggregation import run_pipeline
from triage.core.counters import Pending
from triage.core.errors import StoreUnavailableError
from triage.core.stats import StatsQuery, reason_kind


@dataclass
class MemoryTicketStore:
    """The same contract in memory; set ``down`` to make every call fail as if unreachable."""

    docs: dict[str, Doc] = field(default_factory=dict)
    deadletters: dict[str, DeadLetterRecord] = field(default_factory=dict)
    events: dict[str, Doc] = field(default_factory=dict)
    refusals: dict[str, Doc] = field(default_factory=dict)
    model_activations: dict[int, Doc] = field(default_factory=dict)
    counters: dict[str, Doc] = field(default_factory=dict)
    # Counters of batches written with ``defer_counts``, until ``flush_counts``.
    deferred: Pending = field(default_factory=Pending)
    down: bool = False
    writes: int = 0

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailableError("memory store is down")

    async def ensure_indexes(self) -> None:
        self._check()

    async def ping(self) -> None:
        self._check()

    async def upsert_batch(
        self, records: Sequence[TicketRecord], *, defer_counts: bool = False
    ) -> None:
        self._check()
        self.writes += 1
        now = datetime.now(UTC)
        batch = Pending()
        for record in records:
            filter_, update = ticket_update(record, now)
            doc = self.docs.get(record.ticket_id)
            if doc is not None and any(
                d["decision_id"] == record.decision.decision_id for d in doc["decisions"]
            ):
                continue
            old = None if doc is None else {**doc, "decisions": list(doc["decisions"])}
            if doc is None:
                doc = {"_id": filter_["_id"], **update["$setOnInsert"], "decisions": []}
                doc["status_history"] = []
                self.docs[record.ticket_id] = doc
            doc.update(update["$set"])
            for key, value in update["$push"].items():
                doc[key].append(value)
            delta = counters.ticket_delta(old, doc), counters.last_decisions(doc)
            if old is None:
                batch.add(record.ticket_id, *delta)
            else:  # a new decision of a stored ticket: counted at once, as MongoDB's store does
                counters.apply_to(self.counters, *delta)
        if defer_counts:
            self.deferred.add(f"batch-{self.writes}", batch.increments(), batch.lasts)
        else:
            counters.apply_to(self.counters, batch.increments(), batch.lasts)

    async def flush_counts(self) -> None:
        self._check()
        pending, self.deferred = self.deferred, Pending()
        counters.apply_to(self.counters, pending.increments(), pending.lasts)

    async def add_deadletters(self, records: Sequence[DeadLetterRecord]) -> None:
        self._check()
        day = counters.local_day(datetime.now(UTC))
        for record in records:
            if record.key not in self.deadletters:
                kind = reason_kind(record.reason)
                counters.apply_to(self.counters, counters.deadletter_increments(day, kind))
            self.deadletters.setdefault(record.key, record)

    async def deadletter_stored(self, key: str) -> bool:
        self._check()
        return key in self.deadletters

    async def get(self, ticket_id: str) -> Doc | None:
        self._check()
        return self.docs.get(ticket_id)

    async def counts(self) -> StoreCounts:
        self._check()
        rows = [(d["status"], d["department"], 1) for d in self.docs.values()]
        return store_counts(rows, len(self.deadletters))

    async def close(self) -> None:
        return None

    async def aggregate(self, collection: Collection, pipeline: list[Doc]) -> list[Doc]:
        self._check()
        docs: list[Doc]
        if collection == "tickets":
            docs = list(self.docs.values())
        elif collection == "events":
            docs = list(self.events.values())
        elif collection == "daily_counters":
            docs = list(self.counters.values())
        else:
            docs = [
                {"_id": r.key, "reason": r.reason, "reason_kind": reason_kind(r.reason)}
                for r in self.deadletters.values()
            ]
        return run_pipeline(docs, pipeline)

    async def counter_parts(self, query: StatsQuery, grain: Grain) -> Parts:
        self._check()
        return CounterView.of(self.counters.values()).parts(query, grain)

    async def find_event(self, event_id: str) -> Doc | None:
        self._check()
        return self.events.get(event_id)

    async def apply_event(self, write: EventWrite) -> bool:
        self._check()
        doc = self.docs.get(write.ticket_id)
        if doc is None or doc.get("revision", 0) != write.revision:
            return False
        _, update = event_update(write)
        counters.apply_to(
            self.counters,
            counters.event_increments(
                write.event,
                doc,
                from_status=doc.get("status"),
                from_department=doc.get("department"),
                to_status=write.status,
                to_department=write.department,
            ),
        )
        doc.update(update["$set"])
        doc["revision"] = write.revision + 1
        for key, value in update["$push"].items():
            doc.setdefault(key, []).append(value)
        await self.record_event(write.event)
        return True

    async def record_event(self, event: Doc) -> None:
        self._check()
        self.events.setdefault(event["event_id"], dict(event))

    async def mark_published(self, event_id: str) -> None:
        self._check()
        if event_id in self.events:
            self.events[event_id]["published"] = True

    async def find_refusal(self, event_id: str) -> Doc | None:
        self._check()
        return self.refusals.get(event_id)

    async def record_refusal(self, refusal: Doc) -> Doc | None:
        self._check()
        earlier = self.refusals.get(refusal["_id"])
        if earlier is None:
            self.refusals[refusal["_id"]] = dict(refusal)
        return earlier

    async def claim_dead_letter(self, event_id: str, source: Doc) -> Doc | None:
        self._check()
        refusal = self.refusals.get(event_id)
        if refusal is not None and refusal.get("dead_letter") is None:
            refusal["dead_letter"] = dict(source)
        return refusal

    async def mark_dead_lettered(self, event_id: str) -> None:
        self._check()
        refusal = self.refusals.get(event_id)
        if refusal is not None and refusal.get("dead_letter") is not None:
            refusal["dead_letter"]["written"] = True

    async def list_tickets(
        self, *, department: str | None, status: str | None, limit: int, after: str | None
    ) -> list[Doc]:
        self._check()
        docs = [
            d
            for key, d in sorted(self.docs.items())
            if (department is None or d.get("department") == department)
            and (status is None or d.get("status") == status)
            and (after is None or key > after)
        ]
        return docs[:limit]

    async def activations(self, limit: int) -> list[Doc]:
        self._check()
        return [self.model_activations[k] for k in sorted(self.model_activations, reverse=True)][
            :limit
        ]

    async def add_activation(self, doc: Doc) -> bool:
        self._check()
        if doc["_id"] in self.model_activations:
            return False
        self.model_activations[doc["_id"]] = dict(doc)
        return True
