"""What a ticket looks like to the hot-spot detector: weighted terms and the places it names.

Terms are character bigrams of the Chinese text, the anonymised region codes ("A2区") and
runs of letters and digits ("58", "110kv"). Bigrams, not jieba words, because jieba cuts the
names that matter most (estates, developers, schools) differently from one ticket to the next,
and a paraphrase shares the bigrams of a name however it is cut; the choice was measured on
the shared messages (see the README). The title is counted twice: it states the problem, the
body tells the story around it. Bigrams inside a named place count ``PLACE_BOOST`` times, and
bigrams of the generic words in ``places.GENERIC`` not at all. Only the first
``MAX_CHARS`` characters are read, so a long letter costs no more than a short one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from triage.core.hotspots.places import GENERIC, REGION, places

MAX_CHARS = 400
PLACE_CHARS = 150  # of the body searched for places: where letters name what they are about
TITLE_WEIGHT = 2.0
PLACE_BOOST = 2.0

_RUNS = re.compile(r"[A-Z]\d{0,2}[市区县]|[\u4e00-\u9fff]+|[0-9A-Za-z#]+")
_GENERIC_BIGRAMS = frozenset(w for w in GENERIC if len(w) == 2)


@dataclass(frozen=True, slots=True)
class TermBag:
    """A ticket's distinct terms with their counts (title counted ``TITLE_WEIGHT`` times), the
    places it names, and the terms inside those places."""

    terms: list[str]
    counts: list[float]
    places: tuple[str, ...]
    boosted: frozenset[str]
    boosted_at: list[int]  # positions in `terms` of the boosted ones

    def weights(self) -> dict[str, float]:
        """Term-frequency weights: sublinear (the tenth mention of a word says less than the
        first), times ``PLACE_BOOST`` inside a place. The detector computes the same in numpy."""
        return {
            term: (1.0 + math.log(tf)) * (PLACE_BOOST if term in self.boosted else 1.0)
            for term, tf in zip(self.terms, self.counts, strict=True)
        }


def _count(text: str) -> Counter[str]:
    grams: list[str] = []
    for run in _RUNS.findall(text):
        if "\u4e00" <= run[0] <= "\u9fff" and not REGION.fullmatch(run):
            grams.extend([run[i : i + 2] for i in range(len(run) - 1)])
        elif len(run) >= 2:
            grams.append(run.lower())
    counts = Counter(grams)
    for word in _GENERIC_BIGRAMS.intersection(counts):
        del counts[word]
    return counts


def bag(title: str, body: str) -> TermBag:
    """The detector's view of a ticket (text already normalised and masked)."""
    body = body[: max(0, MAX_CHARS - len(title))]
    counts: dict[str, float] = dict(_count(body))
    for term, tf in _count(title).items():
        counts[term] = counts.get(term, 0.0) + TITLE_WEIGHT * tf
    named = tuple(places(title + "，" + body[:PLACE_CHARS]))
    boosted = place_bigrams(named)
    terms = list(counts)
    at = dict(zip(terms, range(len(terms)), strict=True)) if boosted else {}
    boosted_at = [at[t] for t in boosted if t in at]
    return TermBag(terms, list(counts.values()), named, boosted, boosted_at)


def place_bigrams(named: tuple[str, ...]) -> frozenset[str]:
    """The bigrams of a ticket's places: two tickets name the same place when they share one."""
    return frozenset(core[i : i + 2] for core in named for i in range(len(core) - 1))
