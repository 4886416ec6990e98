"""What the detector takes and gives: its configuration, a sighting of a ticket, a match, an
assignment, and the id a hot spot gets from the ticket that seeded it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from triage.core.hotspots.terms import PLACE_BOOST

__all__ = ["Assignment", "DetectorConfig", "Match", "Sighting", "hotspot_id_for"]


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Every knob of the detector; the defaults are the ones measured in the README."""

    window_days: float = 90.0
    # ...and at most this many tickets (the oldest leave first): about 2.8 KB each, so memory
    # stays bounded when a 90-day window would hold more (bench/hotspots.py)
    max_tickets: int = 200_000
    top_terms: int = 24
    posting_cap: int = 32
    join_threshold: float = 0.30
    df_half_life_days: float = 30.0
    candidates: int = 8
    consensus: int = 3
    place_boost: float = PLACE_BOOST
    consensus_threshold: float = 0.20
    # Document frequencies of the window's tickets only (taken out when they leave), rather
    # than of every ticket seen, decayed: what a window that answers `similar` on any replica
    # needs to score exactly as a rebuilt one (``SimilarIndex``); detection keeps the measured
    # decayed frequencies.
    df_window_only: bool = False

    def __post_init__(self) -> None:
        if not self.window_days > 0:
            raise ValueError(f"window_days must be positive, got {self.window_days}")
        if min(self.top_terms, self.posting_cap, self.candidates, self.consensus) < 1:
            raise ValueError("top_terms, posting_cap, candidates and consensus must be at least 1")
        if not self.place_boost > 0:
            raise ValueError(f"place_boost must be positive, got {self.place_boost}")
        if self.max_tickets < 1:
            raise ValueError(f"max_tickets must be at least 1, got {self.max_tickets}")
        if not 0.0 < self.consensus_threshold <= 1.0:
            raise ValueError(
                f"consensus_threshold must be in (0, 1], got {self.consensus_threshold}"
            )
        if not 0.0 < self.join_threshold <= 1.0:
            raise ValueError(f"join_threshold must be in (0, 1], got {self.join_threshold}")
        if not self.df_half_life_days > 0:
            raise ValueError(f"df_half_life_days must be positive, got {self.df_half_life_days}")


@dataclass(frozen=True, slots=True)
class Sighting:
    """A ticket as the detector reads it: text already normalised and masked."""

    ticket_id: str
    received_at: datetime
    title: str
    body: str
    caller: str | None = None
    likes: int = 0
    department: str | None = None

    @property
    def order(self) -> tuple[datetime, str]:
        """Where the ticket goes in the one order every process detects and follows in:
        `received_at`, then ticket id for tickets received at the same time (duplicates posted
        together are common, and which is counted first changes the weights)."""
        return self.received_at, self.ticket_id


@dataclass(frozen=True, slots=True)
class Match:
    """A recent ticket similar to the one asked about, and the hot spot it belongs to."""

    ticket_id: str
    similarity: float
    hotspot_id: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a ticket went: the hot spot, whether it seeded it, and the ticket it matched."""

    ticket_id: str
    hotspot_id: str
    seeded: bool
    matched: Match | None
    replayed: bool = False
    # whether the ticket's caller was new to the hot spot (counted once among its callers)
    new_caller: bool = False


def hotspot_id_for(seed_ticket_id: str) -> str:
    """A hot spot is named after the ticket that seeded it, so a replay names it the same."""
    return "hs-" + hashlib.sha256(seed_ticket_id.encode()).hexdigest()[:16]
