"""Titles and places as staff read them: never a raw id, never a fragment.

Most phone tickets have no title (the agent types the complaint into the body), so a ticket's
title falls back to the first clause of its body without the call-centre lead-in ("来电人反映：").
A hot spot without a title takes the most representative of its members' titles, derived the
same way. Places found by suffix can come out doubled ("丹灶丹灶"), anonymised ("某区") or cut
mid-word ("属医"); only whole, distinct names are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from triage.core.hotspots.spot import representative_title

__all__ = ["TITLE_CHARS", "clean_places", "hotspot_title", "is_raw_id", "ticket_title"]

TITLE_CHARS = 24
_RAW_ID = re.compile(r"(?:hs-[0-9a-f]{8,}|[A-Z]{2,}-\d{6,}-\d+|[0-9a-f]{16,})", re.IGNORECASE)
# What agents and web forms put before the complaint itself.
_LEAD_IN = re.compile(
    r"^(?:(?:市民|群众|网民|来电人|来电|投诉人|反映人|业主|居民)+"
    r"(?:来电|留言|致电|投诉|反映|咨询|称|表示)*|网友留言|关于)[：:，,\s]*"
)
# "在政府网站留言称，", "通过12345微信小程序留言：": a channel named before the complaint.
_VIA = re.compile(r"^[^，。：:,]{0,20}?(?:留言|反映|来电|投诉|致电|称)[称]?[：:，,]\s*")
_CLAUSE_END = re.compile(r"[，。；！？,.;!?\n]")
_FILLER = re.compile(r"^(?:反映|投诉|称|表示|咨询)[：:，,\s]*")
# Characters a place name does not start with: the tail of a word cut in half.
_BAD_START = set("属的了和与及在于是之从向对附")
_MIN_PLACE = 2


def is_raw_id(text: str) -> bool:
    """Whether ``text`` is an identifier (a hot-spot or ticket id) rather than words."""
    return bool(_RAW_ID.fullmatch(text.strip()))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ticket_title(title: str | None, body: str | None, limit: int = TITLE_CHARS) -> str:
    """The ticket's own title, else the first clause of its body (lead-in removed)."""
    own = (title or "").strip()
    if own and not is_raw_id(own):
        return _shorten(own, max(limit, 60))
    text = (body or "").strip()
    text = _VIA.sub("", _FILLER.sub("", _LEAD_IN.sub("", text)).strip()).strip()
    if not text:
        return "（无标题）"
    parts = [p.strip() for p in _CLAUSE_END.split(text) if p.strip()]
    first = parts[0] if parts else text
    # A clause of three characters says nothing ("您好"): take the next one along.
    if len(first) < 6 and len(parts) > 1:
        first = first + "，" + parts[1]
    return _shorten(first, limit)


def hotspot_title(title: str | None, members: Iterable[tuple[str | None, str | None]]) -> str:
    """The hot spot's own title, else the most representative title of its members' texts."""
    own = (title or "").strip()
    if own and not is_raw_id(own):
        return own
    derived = [ticket_title(t, b) for t, b in members]
    best = representative_title(d for d in derived if d != "（无标题）")
    return best or "（未命名热点）"


def _undouble(place: str) -> str:
    half = len(place) // 2
    if len(place) % 2 == 0 and half >= 1 and place[:half] == place[half:]:
        return place[:half]
    return place


def clean_places(places: Sequence[str], keep: int = 5) -> list[str]:
    """Whole, distinct place names, in their order, without anonymised or cut ones."""
    seen: list[str] = []
    for raw in places:
        place = _undouble(raw.strip())
        if len(place) < _MIN_PLACE or "某" in place or place[0] in _BAD_START:
            continue
        if is_raw_id(place) or place in seen:
            continue
        seen.append(place)
    return seen[:keep]
