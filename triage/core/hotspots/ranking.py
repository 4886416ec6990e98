"""Hot spots over a whole sequence of tickets, ranked by heat: what the offline command prints."""

from __future__ import annotations

from collections.abc import Iterable

from triage.core.hotspots.detector import Detector
from triage.core.hotspots.records import DetectorConfig, Sighting
from triage.core.hotspots.spot import HotspotSummary

MIN_TICKETS = 2  # one ticket is a complaint, not a hot spot


def rank(
    sightings: Iterable[Sighting], config: DetectorConfig | None = None
) -> list[HotspotSummary]:
    """Run the detector over `sightings` in `received_at` order (ticket id for equal times) and
    return every hot spot of at least ``MIN_TICKETS`` tickets, hottest first."""
    detector = Detector(config)
    spots = []
    for sighting in sorted(sightings, key=lambda s: s.order):
        detector.observe(sighting)
        spots.extend(detector.drain_retired())
    spots.extend(detector.spots())
    summaries = [s.summary() for s in spots if s.tickets >= MIN_TICKETS]
    summaries.sort(key=lambda s: (-s.heat, -s.tickets, s.first_at, s.hotspot_id))
    return summaries
