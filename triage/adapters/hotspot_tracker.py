"""The hot-spot detector of the hot-spot stage, and the read-only window that answers `similar`.

``HotspotTracker`` is the stage owner's state: rebuilt from MongoDB on every assignment, fed
the decided tickets in order, and turning each batch into per-ticket writes
(``HotspotWrite``). ``SimilarIndex`` is what every replica serving `POST /v1/suggest` keeps: the
same window, rebuilt from MongoDB and then fed the stage's output, so that any replica gives
the same answer; it keeps no hot-spot counters (the stored documents hold them).

The detector is used from a worker thread (a batch) and from the event loop (`similar`), so
every use takes one lock, per ticket: a request waits for at most one ticket, never a batch.

A rebuild reads two windows: the tickets of the window before the one it restores only count
in the document frequencies (``Detector.count``), so each restored ticket is weighed as it was
by a window that followed the stage from the start, and `similar` scores alike on a replica
started at any time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from triage.adapters.store.hotspots import HotspotStore, HotspotWrite, Joined
from triage.core.hotspots import Detector, DetectorConfig, Match, Sighting, Spot

__all__ = ["HotspotTracker", "Published", "SimilarIndex"]

log = structlog.get_logger("triage.adapters.hotspot_tracker")


Rows = list[tuple[Sighting, str]]


def _ms(at: datetime) -> datetime:
    """To the millisecond, as MongoDB stores a time."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


@dataclass(frozen=True, slots=True)
class Published:
    """The last ticket the stage had published when a replica noted where to follow from.

    MongoDB may already hold the hot spots of the batch being published then: a window
    rebuilt with them would add them before the tickets they came after, and weigh them and
    their neighbours with other frequencies than every other replica did. The stage publishes
    in `received_at` order, so the rebuild keeps exactly the tickets received before ``at``,
    and of those received at ``at`` the ones published already (``ids``); the rest come from
    the topic, in order."""

    at: datetime
    ids: frozenset[str]

    @classmethod
    def after(cls, tickets: Sequence[tuple[str, datetime]]) -> Published:
        """From the last tickets published (id and `received_at`), oldest first."""
        last = _ms(tickets[-1][1])
        return cls(last, frozenset(i for i, at in tickets if _ms(at) == last))

    def holds(self, sighting: Sighting) -> bool:
        at, mine = _ms(sighting.received_at), _ms(self.at)
        return at < mine or (at == mine and sighting.ticket_id in self.ids)


async def _two_windows(
    store: HotspotStore, window_days: float, published: Published | None = None
) -> tuple[datetime | None, Rows, Rows]:
    """Where the window starts, the tickets of the window before it, and its own (only those
    ``published`` holds, the window ending where it does, when given)."""
    latest = await store.latest() if published is None else published.at
    if latest is None:
        return None, [], []
    since = latest - timedelta(days=window_days)
    rows = await store.window(since - timedelta(days=window_days))
    cut = next((i for i, (s, _) in enumerate(rows) if s.received_at >= since), len(rows))
    return since, rows[:cut], rows[cut:]


class HotspotTracker:
    """The owner's detector: one per assignment of the decided-tickets partition."""

    def __init__(self, store: HotspotStore, config: DetectorConfig | None = None) -> None:
        self.store = store
        self.config = config or DetectorConfig()
        self.detector = Detector(self.config)
        self._lock = threading.Lock()

    async def rebuild(self) -> int:
        """Start again from what MongoDB holds: live hot spots first, then their tickets.

        A fresh detector each time: the state of an earlier ownership may miss what another
        owner wrote since.
        """
        since, before, rows = await _two_windows(self.store, self.config.window_days)
        spots: list[Spot] = [] if since is None else await self.store.live(since)

        def build() -> Detector:
            detector = Detector(self.config)
            for spot in spots:
                detector.restore_spot(spot)
            for sighting, _ in before:
                detector.count(sighting)
            for sighting, hotspot_id in rows:
                detector.restore(sighting, hotspot_id)
            detector.restored()
            return detector

        # CPU work for a large window: off the event loop, which may be serving the API
        detector = await asyncio.to_thread(build)
        with self._lock:
            self.detector = detector
        log.info("hot spots rebuilt", hotspots=len(spots), tickets=len(rows))
        return len(rows)

    def before_window(self, sightings: Sequence[Sighting]) -> list[str]:
        """The tickets older than the window: replays whose stored hot spot must be asked for
        (``observe``'s `stored`)."""
        with self._lock:
            return [s.ticket_id for s in sightings if self.detector.before_window(s.received_at)]

    def observe(
        self, sightings: Sequence[Sighting], stored: Mapping[str, str] | None = None
    ) -> HotspotWrite:
        """Detect a batch in ``received_at`` order (CPU work: run it in an executor).

        Every ticket gives its own idempotent write, a replayed one too: if a crash came
        between its ticket's `hotspot_id` and its hot spot's document, this completes it.
        A ticket in `stored` that the window no longer holds (replayed after a rebuild, from
        an offset committed long before) keeps its stored hot spot: detected again without
        its neighbours it would seed another, and its first hot spot would list it still.
        """
        stored = stored or {}
        assignments: list[tuple[str, str]] = []
        joins: list[Joined] = []
        touched: dict[str, Spot] = {}
        for sighting in sorted(sightings, key=lambda s: s.order):
            kept = stored.get(sighting.ticket_id)
            if kept is not None and self.detector.hotspot_of(sighting.ticket_id) is None:
                assignments.append((sighting.ticket_id, kept))
                joins.append(
                    Joined(
                        hotspot_id=kept,
                        ticket_id=sighting.ticket_id,
                        at=sighting.received_at,
                        department=sighting.department or "review",
                        new_caller=True,
                        likes=max(0, sighting.likes),
                    )
                )
                continue
            with self._lock:
                assignment = self.detector.observe(sighting)
                spot = self.detector.spot(assignment.hotspot_id)
            hotspot_id = assignment.hotspot_id
            assignments.append((sighting.ticket_id, hotspot_id))
            joins.append(
                Joined(
                    hotspot_id=hotspot_id,
                    ticket_id=sighting.ticket_id,
                    at=sighting.received_at,
                    department=sighting.department or "review",
                    # a replayed ticket is listed already, unless a crash came in between;
                    # then the rebuild counted it as a caller of its own
                    new_caller=assignment.new_caller or assignment.replayed,
                    likes=max(0, sighting.likes),
                    seeded=assignment.seeded,
                )
            )
            if spot is not None:
                touched[hotspot_id] = spot
        with self._lock:
            self.detector.drain_retired()  # kept by reference in `touched` where needed
            spots = tuple((spot.summary(), tuple(spot.titles())) for spot in touched.values())
        return HotspotWrite(tuple(assignments), tuple(joins), spots)


class SimilarIndex:
    """The window of detected tickets, for `similar` on any replica (no counters)."""

    def __init__(self, store: HotspotStore, config: DetectorConfig | None = None) -> None:
        self.store = store
        self.config = replace(config or DetectorConfig(), df_window_only=True)
        self.detector = Detector(self.config)
        self._lock = threading.Lock()

    async def rebuild(self, published: Published | None = None) -> int:
        """The window as MongoDB holds it now, up to what the stage had ``published`` where the
        replica follows its output from; call before following it."""
        _, before, rows = await _two_windows(self.store, self.config.window_days, published)
        if published is not None:
            rows = [row for row in rows if published.holds(row[0])]

        def build() -> Detector:
            detector = Detector(self.config)
            for sighting, _ in before:
                detector.count(sighting)
            for sighting, hotspot_id in rows:
                detector.follow(sighting, hotspot_id)
            return detector

        detector = await asyncio.to_thread(build)
        with self._lock:
            self.detector = detector
        log.info("similar-ticket window rebuilt", tickets=len(rows))
        return len(rows)

    def follow(self, rows: Sequence[tuple[Sighting, str]]) -> None:
        """Tickets the stage stored with their hot spots (CPU work: run it in an executor)."""
        for sighting, hotspot_id in rows:
            with self._lock:
                self.detector.follow(sighting, hotspot_id)

    def similar(self, title: str, body: str, limit: int = 5) -> tuple[list[Match], str | None]:
        with self._lock:
            return self.detector.similar(title, body, limit=limit)
