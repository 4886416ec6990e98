"""Incremental hot-spot detection: each ticket joins the hot spot of its most similar recent
ticket, or seeds a new one.

Cost per ticket is bounded whatever the window holds. A ticket is reduced to its ``top_terms``
heaviest terms (TF-IDF, unit length); candidates come only from an inverted index of those
terms whose posting lists keep the ``posting_cap`` most recent tickets; similarity is the dot
product accumulated through those lists. A term common enough to overflow its list has a low
IDF and adds little, so dropping its oldest entries loses little. Document frequencies decay
exponentially (half-life ``df_half_life_days``), so the IDF follows what is common now and the
vocabulary kept is what recent tickets used (see ``terms.py`` for what a term is). With
``df_window_only`` a ticket counts in them only while it is in the window (taken out when it
leaves), so the frequencies are a function of the tickets in the window, and a window rebuilt
from storage (``count`` for the tickets of the window before, then the window itself) scores
exactly as one that followed every ticket. Scores are sums of 16-bit weights, exact in any
order, and ties go to the smaller ticket id, so two windows holding the same tickets rank
alike.

Two tickets that name places (``places.py``) but share no part of a name never join: "the same
words about two different estates" are two problems. Everything is keyed by ticket id, so a
replayed ticket gets the hot spot it already has; ``restore`` rebuilds the window from stored
assignments after a restart without assigning anything again.
"""

from __future__ import annotations

import math
import sys
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import numpy as np

from triage.core.hotspots.records import (
    Assignment,
    DetectorConfig,
    Match,
    Sighting,
    hotspot_id_for,
)
from triage.core.hotspots.spot import Spot
from triage.core.hotspots.terms import TermBag, bag, place_bigrams

Represent = Callable[[str, str], TermBag]

_SECONDS_PER_DAY = 86_400.0
_DF_SLOTS = 1 << 22
_DF_MASK = _DF_SLOTS - 1
_WEIGHT_BITS = 16
_WEIGHT_SCALE = float((1 << _WEIGHT_BITS) - 1)
_WEIGHT_MASK = (1 << _WEIGHT_BITS) - 1


class _Entry:
    __slots__ = ("counted", "day", "hotspot_id", "places", "slot", "terms", "ticket_id")

    def __init__(
        self,
        slot: int,
        ticket_id: str,
        day: float,
        hotspot_id: str,
        terms: tuple[str, ...],
        places: frozenset[str],
        counted: np.ndarray,
    ) -> None:
        self.slot = slot
        self.ticket_id = ticket_id
        self.day = day
        self.hotspot_id = hotspot_id
        self.terms = terms
        self.places = places
        self.counted = counted  # document-frequency slots, taken out again when it leaves


_NOTHING = np.zeros(0, dtype=np.int32)


def _ticket_id(entry: _Entry) -> str:
    return entry.ticket_id


class _Slots(dict[str, int]):
    """Each term's document-frequency slot, the same in every process (``hash`` of a str is
    salted per process, and replicas must score alike); computed once per term and then read
    at the cost of a dict lookup. Emptied when it holds ``_SLOTS_KEPT`` terms, so that memory
    stays bounded whatever the vocabulary."""

    def __missing__(self, term: str) -> int:
        if len(self) >= _SLOTS_KEPT:
            self.clear()
        slot = self[term] = zlib.crc32(term.encode()) & _DF_MASK
        return slot


_SLOTS_KEPT = 1 << 20
_slot = _Slots().__getitem__


def _day(at: datetime) -> float:
    return at.timestamp() / _SECONDS_PER_DAY


class Detector:
    """The window of recent tickets, its inverted index and the hot spots alive in it."""

    def __init__(self, config: DetectorConfig | None = None, represent: Represent = bag) -> None:
        """`represent` turns (title, body) into terms: ``terms.bag`` unless measuring another
        representation (bench/hotspots_quality.py)."""
        self.config = config or DetectorConfig()
        self._bag = represent
        self._decay = math.log(2) / self.config.df_half_life_days
        self._window = timedelta(days=self.config.window_days)
        # Document frequencies are kept inflated by exp(decay * (day - origin)) so that one
        # number per term decays without touching every term each day.
        self._origin: float | None = None
        # Document frequencies by hashed term: fixed memory whatever the vocabulary; two
        # terms that share a slot share a count (rare in 4M slots, and it only lowers an IDF).
        self._df = np.zeros(_DF_SLOTS, dtype=np.float64)
        self._n = 0.0
        self._clock = -math.inf
        self._next_slot = 0
        self._entries: dict[int, _Entry] = {}
        self._order: deque[_Entry] = deque()
        self._by_id: dict[str, _Entry] = {}
        # term -> packed (slot << 16 | weight * 65535) of the tickets that have it among their
        # top terms, oldest first: 8 bytes a posting, read with one numpy view per ticket
        self._postings: dict[str, array[int]] = {}
        self._live: dict[str, int] = {}  # hot spot -> members still in the window
        self._spots: dict[str, Spot] = {}
        self._retired: list[Spot] = []
        self._restoring: dict[str, set[str]] = {}
        self._since_prune = 0

    # -- what the window holds ---------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def hotspots_live(self) -> int:
        return len(self._live)

    @property
    def vocabulary(self) -> int:
        """Terms with a posting list (the document-frequency table has a fixed size)."""
        return len(self._postings)

    def spot(self, hotspot_id: str) -> Spot | None:
        return self._spots.get(hotspot_id)

    def spots(self) -> list[Spot]:
        """The hot spots with at least one member in the window."""
        return list(self._spots.values())

    def drain_retired(self) -> list[Spot]:
        """Hot spots whose last member left the window since the previous call."""
        retired, self._retired = self._retired, []
        return retired

    def restore_spot(self, spot: Spot) -> None:
        """Go on counting a stored hot spot (call before restoring its tickets)."""
        self._spots.setdefault(spot.hotspot_id, spot)

    def hotspot_of(self, ticket_id: str) -> str | None:
        entry = self._by_id.get(ticket_id)
        return entry.hotspot_id if entry else None

    def before_window(self, at: datetime) -> bool:
        """Whether a ticket received at `at` is older than the window now holds (a replay of
        one detected long ago, when the window was rebuilt after it had left)."""
        return _day(at) < self._clock - self.config.window_days

    # -- the three operations ----------------------------------------------------------

    def observe(self, sighting: Sighting) -> Assignment:
        """Assign a ticket to a hot spot (joining or seeding one) and add it to the window."""
        known = self._by_id.get(sighting.ticket_id)
        if known is not None:
            return Assignment(sighting.ticket_id, known.hotspot_id, False, None, replayed=True)
        day = _day(sighting.received_at)
        self._advance(day)
        terms = self._bag(sighting.title, sighting.body)
        vector, counted = self._vector(terms, day, count=True)
        best = self._best(vector, place_bigrams(terms.places), day)
        hotspot_id = hotspot_id_for(sighting.ticket_id) if best is None else best.hotspot_id
        spot = self._spots.get(hotspot_id)
        if spot is None:
            spot = self._spots[hotspot_id] = Spot(hotspot_id, sighting.received_at)
        callers = spot.callers
        spot.add(
            sighting.ticket_id,
            sighting.received_at,
            sighting.title,
            terms.places,
            caller=sighting.caller,
            likes=sighting.likes,
            department=sighting.department,
        )
        if len(spot.days) > self.config.window_days + 8:
            spot.prune_days((sighting.received_at - self._window).date())
        self._add(sighting.ticket_id, day, hotspot_id, vector, terms, counted)
        return Assignment(
            sighting.ticket_id, hotspot_id, best is None, best, new_caller=spot.callers > callers
        )

    def restore(self, sighting: Sighting, hotspot_id: str) -> None:
        """Put back a ticket whose hot spot is already recorded (rebuilding after a restart).

        A ticket its stored hot spot does not list yet (the process stopped between writing
        the ticket's hot spot and the hot spot itself) is counted into it now, once.
        """
        if sighting.ticket_id in self._by_id:
            return
        day = _day(sighting.received_at)
        self._advance(day)
        terms = self._bag(sighting.title, sighting.body)
        vector, counted = self._vector(terms, day, count=True)
        spot = self._spots.get(hotspot_id)
        if spot is None:
            spot = self._spots[hotspot_id] = Spot(hotspot_id, sighting.received_at)
        listed = self._restoring.get(hotspot_id)
        if listed is None:
            listed = self._restoring[hotspot_id] = set(spot.members)
        if sighting.ticket_id not in listed:
            listed.add(sighting.ticket_id)
            spot.add(
                sighting.ticket_id,
                sighting.received_at,
                sighting.title,
                terms.places,
                caller=sighting.caller,
                likes=sighting.likes,
                department=sighting.department,
            )
        self._add(sighting.ticket_id, day, hotspot_id, vector, terms, counted)

    def follow(self, sighting: Sighting, hotspot_id: str) -> None:
        """Add a ticket whose hot spot another process decided, to the window only: a reader
        that answers `similar` keeps no hot-spot counters (the stored documents hold them)."""
        if sighting.ticket_id in self._by_id or self.before_window(sighting.received_at):
            return  # a replay: in the window already, or gone from it (and from a rebuilt one)
        day = _day(sighting.received_at)
        self._advance(day)
        terms = self._bag(sighting.title, sighting.body)
        vector, counted = self._vector(terms, day, count=True)
        self._add(sighting.ticket_id, day, hotspot_id, vector, terms, counted)
        self._retired.clear()  # no counters to retire

    def count(self, sighting: Sighting) -> None:
        """Count a ticket in the document frequencies only, until it leaves the window.

        A rebuild counts the tickets of the window before the one it restores (received
        ``window_days`` before its start): each restored ticket is then weighed with the
        frequencies a window that followed every ticket had when it came.
        """
        day = _day(sighting.received_at)
        self._advance(day)
        _, counted = self._vector(self._bag(sighting.title, sighting.body), day, count=True)
        entry = _Entry(-1, sighting.ticket_id, day, "", (), frozenset(), counted)
        self._order.append(entry)

    def restored(self) -> None:
        """End of a rebuild: drop the member sets it needed."""
        self._restoring.clear()

    def similar(
        self, title: str, body: str, at: datetime | None = None, limit: int = 5
    ) -> tuple[list[Match], str | None]:
        """The most similar recent tickets and the hot spot this text would join (no change)."""
        day = self._clock if at is None else _day(at)
        if not self._entries or day == -math.inf:
            return [], None
        terms = self._bag(title, body)
        vector, _ = self._vector(terms, day)
        mine = place_bigrams(terms.places)
        matches = [m for m in self._ranked(vector, mine, day) if m.similarity > 0.0]
        joins = next((m for m in matches if m.similarity >= self.config.join_threshold), None)
        return matches[:limit], joins.hotspot_id if joins else None

    def replay_all(self, sightings: Iterable[Sighting]) -> list[Assignment]:
        """Observe tickets in the order given (the offline command sorts by received_at)."""
        return [self.observe(s) for s in sightings]

    # -- internals ---------------------------------------------------------------------

    def _advance(self, day: float) -> None:
        if self._origin is None:
            self._origin = day
        if day > self._clock:
            self._clock = day
        horizon = self._clock - self.config.window_days
        order, cap = self._order, self.config.max_tickets
        while order and (order[0].day < horizon or len(order) >= cap):
            self._expire(order.popleft())
        self._since_prune += 1
        if self._since_prune >= 10_000:
            self._prune()

    def _scale(self, day: float) -> float:
        if self._origin is None:
            self._origin = day
        return math.exp(self._decay * (day - self._origin))

    def _vector(
        self, terms: TermBag, day: float, count: bool = False
    ) -> tuple[list[tuple[str, float]], np.ndarray]:
        """Top terms by TF-IDF, unit length; with `count`, the ticket joins the frequencies
        (the slots it was counted in come back with it: 0 of them without `count`)."""
        if not terms.terms:
            return [], _NOTHING
        scale = self._scale(day)
        index = np.fromiter(map(_slot, terms.terms), dtype=np.int64, count=len(terms.terms))
        if count:
            self._n += scale
            self._df[index] += scale
        tf = 1.0 + np.log(np.asarray(terms.counts))
        if terms.boosted_at:
            tf[terms.boosted_at] *= self.config.place_boost
        # idf = 1 + ln(n + 1) - ln(df + 1), with n and df deflated by `scale`
        base = 1.0 + math.log(self._n / scale + 1.0) + math.log(scale)
        weights = tf * (base - np.log(self._df[index] + scale))
        k = self.config.top_terms
        top = np.argpartition(-weights, k)[:k] if len(weights) > k else np.arange(len(weights))
        kept = weights[top]
        kept /= math.sqrt(float(kept @ kept)) or 1.0
        # interned: the window keeps each term once, not once per ticket that has it
        vector = [
            (sys.intern(terms.terms[i]), w)
            for i, w in zip(top.tolist(), kept.tolist(), strict=True)
        ]
        kept_for_later = count and self.config.df_window_only
        return vector, (np.unique(index).astype(np.int32) if kept_for_later else _NOTHING)

    def _ranked(
        self, vector: list[tuple[str, float]], mine: frozenset[str], day: float
    ) -> list[Match]:
        postings = self._postings
        found = [(postings.get(term), weight) for term, weight in vector]
        lists = [(plist, weight) for plist, weight in found if plist]
        if not lists:
            return []
        packed = np.frombuffer(b"".join([plist.tobytes() for plist, _ in lists]), dtype=np.int64)
        # both sides in 16-bit steps: every product and sum is an integer below 2**53, so a
        # score is exact whatever the order it is summed in
        query = np.repeat(
            np.round(np.array([w for _, w in lists]) * _WEIGHT_SCALE), [len(p) for p, _ in lists]
        )
        slots, where = np.unique(packed >> _WEIGHT_BITS, return_inverse=True)
        units = np.bincount(where, weights=(packed & _WEIGHT_MASK) * query)
        scores = units / (_WEIGHT_SCALE * _WEIGHT_SCALE)
        wanted = min(len(scores), 4 * self.config.candidates)
        if wanted < len(scores):
            floor = np.partition(scores, len(scores) - wanted)[len(scores) - wanted]
            top = np.flatnonzero(scores >= floor)  # with every tie at the cut
        else:
            top = np.arange(len(scores))
        order = top[np.argsort(-scores[top], kind="stable")]
        ranked_slots, ranked_scores = slots[order].tolist(), scores[order].tolist()
        entries = self._entries
        out: list[Match] = []
        horizon = day - self.config.window_days
        wanted_out = self.config.candidates
        # Highest score first, equal scores by ticket id: one group of equal scores at a time,
        # so a long run of ties below the candidates found is never looked at.
        i, n = 0, len(order)
        while i < n and len(out) < wanted_out:
            score, j = ranked_scores[i], i + 1
            while j < n and ranked_scores[j] == score:
                j += 1
            group = [e for slot in ranked_slots[i:j] if (e := entries.get(slot)) is not None]
            if len(group) > 1:
                group.sort(key=_ticket_id)
            for entry in group:
                if entry.day < horizon:
                    continue
                if mine and entry.places and mine.isdisjoint(entry.places):
                    continue  # same words, another place: not the same problem
                out.append(Match(entry.ticket_id, round(min(score, 1.0), 4), entry.hotspot_id))
                if len(out) >= wanted_out:
                    break
            i = j
        return out

    def _best(
        self, vector: list[tuple[str, float]], mine: frozenset[str], day: float
    ) -> Match | None:
        ranked = self._ranked(vector, mine, day)
        if not ranked:
            return None
        if ranked[0].similarity >= self.config.join_threshold:
            return ranked[0]
        # A long letter shares a smaller part of itself with any one short ticket; when its
        # nearest few all belong to one hot spot, they agree where it goes.
        k = self.config.consensus
        if (
            len(ranked) >= k
            and ranked[k - 1].similarity >= self.config.consensus_threshold
            and len({m.hotspot_id for m in ranked[:k]}) == 1
        ):
            return ranked[0]
        return None

    def _add(
        self,
        ticket_id: str,
        day: float,
        hotspot_id: str,
        vector: list[tuple[str, float]],
        terms: TermBag,
        counted: np.ndarray,
    ) -> None:
        slot = self._next_slot
        self._next_slot += 1
        entry = _Entry(
            slot,
            ticket_id,
            day,
            hotspot_id,
            tuple(t for t, _ in vector),
            place_bigrams(terms.places),
            counted,
        )
        self._entries[slot] = entry
        self._order.append(entry)
        self._by_id[ticket_id] = entry
        self._live[hotspot_id] = self._live.get(hotspot_id, 0) + 1
        cap = self.config.posting_cap
        postings = self._postings
        for term, weight in vector:
            plist = postings.get(term)
            if plist is None:
                plist = postings[term] = array("q")
            elif len(plist) >= cap:
                del plist[0]
            plist.append(slot << _WEIGHT_BITS | round(weight * _WEIGHT_SCALE))

    def _expire(self, entry: _Entry) -> None:
        if len(entry.counted):
            scale = self._scale(entry.day)
            self._df[entry.counted] -= scale
            self._n -= scale
        if entry.slot < 0:
            return  # counted only
        del self._entries[entry.slot]
        if self._by_id.get(entry.ticket_id) is entry:
            del self._by_id[entry.ticket_id]
        left = self._live[entry.hotspot_id] - 1
        if left:
            self._live[entry.hotspot_id] = left
        else:
            del self._live[entry.hotspot_id]
            spot = self._spots.pop(entry.hotspot_id, None)
            if spot is not None:
                self._retired.append(spot)
        for term in entry.terms:
            plist = self._postings.get(term)
            if plist is None:
                continue
            gone = 0
            while gone < len(plist) and plist[gone] >> _WEIGHT_BITS <= entry.slot:
                gone += 1
            del plist[:gone]
            if not plist:
                del self._postings[term]

    def _prune(self) -> None:
        """Re-base the inflated frequencies before they grow too large for a float."""
        self._since_prune = 0
        if self._origin is None:
            return
        scale = self._scale(self._clock)
        self._df /= scale
        self._n /= scale
        self._origin = self._clock
