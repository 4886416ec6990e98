"""Hot spots (热点问题): many tickets about the same problem at the same place.

``terms`` and ``places`` turn a ticket into weighted terms and named places; ``detector``
assigns each ticket to a hot spot through an inverted index over a bounded window; ``spot``
keeps each hot spot's counters and heat index; ``ranking`` runs the detector over a file.
Pure: no I/O.
"""

from triage.core.hotspots.detector import Detector
from triage.core.hotspots.ranking import rank
from triage.core.hotspots.records import (
    Assignment,
    DetectorConfig,
    Match,
    Sighting,
    hotspot_id_for,
)
from triage.core.hotspots.spot import HotspotSummary, Spot, caller_key, heat_index

__all__ = [
    "Assignment",
    "Detector",
    "DetectorConfig",
    "HotspotSummary",
    "Match",
    "Sighting",
    "Spot",
    "caller_key",
    "heat_index",
    "hotspot_id_for",
    "rank",
]
