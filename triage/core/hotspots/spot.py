"""One hot spot's running state, its heat index and the summary shown to people.

The heat index ranks hot spots by how many people raise the problem, how fast, and how much
others support them (README, "Hot spots"):

    heat = 10 ln(1 + callers) + 3 ln(1 + tickets - callers)
         + 6 ln(1 + peak_7d) + 6 ln(1 + recent_7d) + 3 ln(1 + likes)

`callers` counts distinct callers (a ticket without a caller counts as one more), so one person
writing ten times weighs less than ten people; `peak_7d` is the most tickets in any seven days
of its life (how concentrated it was) and `recent_7d` the tickets of the seven days up to its
latest ticket (whether it is still growing); `likes` are the channel's votes where it has them.
Logarithms keep a hot spot of two hundred from burying everything else, and make each term a
ratio: doubling the callers adds the same heat whether they were ten or a hundred.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from triage.core.hotspots.places import GENERIC

# A document must stay far below MongoDB's 16 MB: ids and caller keys beyond these are counted
# but not listed.
MAX_LISTED = 5_000
_TITLES_KEPT = 24
_PLACES_KEPT = 12
_WEEK = 7


def heat_index(tickets: int, callers: int, peak_7d: int, recent_7d: int, likes: int) -> float:
    """The documented heat index (module docstring), rounded for display."""
    repeat = max(0, tickets - callers)
    heat = (
        10 * math.log1p(callers)
        + 3 * math.log1p(repeat)
        + 6 * math.log1p(peak_7d)
        + 6 * math.log1p(recent_7d)
        + 3 * math.log1p(max(0, likes))
    )
    return round(heat, 2)


def caller_key(caller: str | None, ticket_id: str) -> str:
    """A caller as counted, never as stored: a hash, or the ticket itself when anonymous."""
    raw = f"caller:{caller}" if caller else f"ticket:{ticket_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def representative_title(titles: Iterable[str]) -> str:
    """The member title that shares most of its bigrams with the other titles, per character,
    so "丽发新城小区附近搅拌站噪音扰民" wins over "环境污染" and over a long rambling one."""
    kept = [t for t in titles if t]
    if not kept:
        return ""
    counts: Counter[str] = Counter()
    grams = [{t[i : i + 2] for i in range(len(t) - 1)} - set(GENERIC) for t in kept]
    for g in grams:
        counts.update(g)

    def score(i: int) -> tuple[float, int]:
        shared = sum(counts[g] - 1 for g in grams[i])
        return shared / math.sqrt(len(kept[i]) + 4), -len(kept[i])

    best = max(range(len(kept)), key=score)
    return kept[best][:60]


@dataclass(frozen=True, slots=True)
class HotspotSummary:
    """What a hot spot is, as listed and stored."""

    hotspot_id: str
    title: str
    places: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    tickets: int
    callers: int
    likes: int
    peak_7d: int
    recent_7d: int
    heat: float
    departments: Mapping[str, int]
    days: Mapping[str, int]
    members: tuple[str, ...]


class Spot:
    """The running state of one hot spot: counters updated per ticket, bounded in size."""

    __slots__ = (
        "_places",
        "_titles",
        "caller_keys",
        "callers",
        "days",
        "departments",
        "first_at",
        "hotspot_id",
        "last_at",
        "likes",
        "members",
        "peak_7d",
        "tickets",
    )

    def __init__(self, hotspot_id: str, at: datetime) -> None:
        self.hotspot_id = hotspot_id
        self.first_at = at
        self.last_at = at
        self.tickets = 0
        self.callers = 0
        self.likes = 0
        self.peak_7d = 0
        self.caller_keys: set[str] = set()
        self.members: list[str] = []
        # plain dicts and lists: most spots stay single tickets, and a Counter or a deque
        # costs several times as much memory per spot
        self.days: dict[str, int] = {}
        self.departments: dict[str, int] = {}
        self._titles: list[str] = []
        self._places: dict[str, int] = {}

    def add(
        self,
        ticket_id: str,
        at: datetime,
        title: str,
        places: Iterable[str],
        caller: str | None = None,
        likes: int = 0,
        department: str | None = None,
    ) -> None:
        self.tickets += 1
        self.first_at = min(self.first_at, at)
        self.last_at = max(self.last_at, at)
        key = caller_key(caller, ticket_id)
        if key not in self.caller_keys:
            self.callers += 1
            if len(self.caller_keys) < MAX_LISTED:
                self.caller_keys.add(key)
        self.likes += max(0, likes)
        if len(self.members) < MAX_LISTED:
            self.members.append(ticket_id)
        day = at.date().isoformat()
        self.days[day] = self.days.get(day, 0) + 1
        if department:
            self.departments[department] = self.departments.get(department, 0) + 1
        if title:
            self._titles.append(title)
            if len(self._titles) > 2 * _TITLES_KEPT:
                del self._titles[:_TITLES_KEPT]
        for place in places:
            self._places[place] = self._places.get(place, 0) + 1
        if len(self._places) > 4 * _PLACES_KEPT:
            self._places = dict(Counter(self._places).most_common(_PLACES_KEPT))
        self.peak_7d = max(self.peak_7d, self._week_to(self.last_at.date()))

    def _week_to(self, end: date) -> int:
        return sum(self.days.get((end - timedelta(days=d)).isoformat(), 0) for d in range(_WEEK))

    def prune_days(self, keep_from: date) -> None:
        """Forget day counts older than the window (the peak is already recorded)."""
        cutoff = keep_from.isoformat()
        for day in [d for d in self.days if d < cutoff]:
            del self.days[day]

    def summary(self) -> HotspotSummary:
        recent = self._week_to(self.last_at.date())
        return HotspotSummary(
            hotspot_id=self.hotspot_id,
            title=representative_title(self._titles[-_TITLES_KEPT:]),
            places=tuple(p for p, _ in Counter(self._places).most_common(3)),
            first_at=self.first_at,
            last_at=self.last_at,
            tickets=self.tickets,
            callers=self.callers,
            likes=self.likes,
            peak_7d=self.peak_7d,
            recent_7d=recent,
            heat=heat_index(self.tickets, self.callers, self.peak_7d, recent, self.likes),
            departments=dict(self.departments),
            days=dict(sorted(self.days.items())),
            members=tuple(self.members),
        )

    @classmethod
    def restore(
        cls,
        summary: HotspotSummary,
        caller_keys: Iterable[str],
        titles: Iterable[str],
    ) -> Spot:
        """The state of a stored hot spot, to go on counting after a restart."""
        spot = cls(summary.hotspot_id, summary.first_at)
        spot.last_at = summary.last_at
        spot.tickets = summary.tickets
        spot.callers = summary.callers
        spot.likes = summary.likes
        spot.peak_7d = summary.peak_7d
        spot.caller_keys = set(caller_keys)
        spot.members = list(summary.members)
        spot.days = dict(summary.days)
        spot.departments = dict(summary.departments)
        spot._titles = list(titles)[-_TITLES_KEPT:]
        spot._places = {p: len(summary.places) - i for i, p in enumerate(summary.places)}
        return spot

    def titles(self) -> list[str]:
        return self._titles[-_TITLES_KEPT:]
