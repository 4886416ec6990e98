"""The service's hot-spot detector: rebuilt from MongoDB at start, fed by the consumer per
batch, asked by `POST /v1/suggest` for similar recent tickets.

The consumer observes a batch in its classification thread while the event loop may answer
`similar` for the API, so every use of the detector takes one lock, per ticket: a request
waits for at most one ticket's detection (well under a millisecond), never a whole batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

import structlog

from triage.adapters.store.hotspots import HotspotStore, HotspotWrite
from triage.core.hotspots import Detector, DetectorConfig, Match, Sighting
from triage.core.hotspots.ranking import MIN_TICKETS

log = structlog.get_logger("triage.adapters.hotspot_tracker")


class HotspotTracker:
    def __init__(self, store: HotspotStore, config: DetectorConfig | None = None) -> None:
        self.store = store
        self.detector = Detector(config)
        self._lock = threading.Lock()

    async def rebuild(self) -> int:
        """Load the window back from the store: live hot spots first, then their tickets."""
        latest = await self.store.latest()
        if latest is None:
            return 0
        since = latest - timedelta(days=self.detector.config.window_days)
        spots = await self.store.live(since)
        rows = await self.store.window(since)
        with self._lock:
            for spot in spots:
                self.detector.restore_spot(spot)
            for sighting, hotspot_id in rows:
                self.detector.restore(sighting, hotspot_id)
            self.detector.restored()
        log.info("hot spots rebuilt", hotspots=len(spots), tickets=len(rows))
        return len(rows)

    def observe(self, sightings: Sequence[Sighting]) -> HotspotWrite:
        """Detect a batch (CPU work: the consumer runs it in its executor)."""
        assignments: list[tuple[str, str]] = []
        touched: dict[str, None] = {}
        for sighting in sightings:
            with self._lock:
                assignment = self.detector.observe(sighting)
            assignments.append((sighting.ticket_id, assignment.hotspot_id))
            if not assignment.replayed:
                touched[assignment.hotspot_id] = None
        spots = []
        with self._lock:
            self.detector.drain_retired()  # already stored when last touched
            for hotspot_id in touched:
                spot = self.detector.spot(hotspot_id)
                # A single ticket is rebuilt from the ticket itself: no document until a
                # second one joins it.
                if spot is not None and spot.tickets >= MIN_TICKETS:
                    spots.append((spot.summary(), tuple(spot.titles())))
        return HotspotWrite(tuple(assignments), tuple(spots))

    async def save(self, write: HotspotWrite) -> None:
        await self.store.save(write)

    def similar(self, title: str, body: str, limit: int = 5) -> tuple[list[Match], str | None]:
        with self._lock:
            return self.detector.similar(title, body, limit=limit)
