"""Readable hot spots in the API's answers: a title from the members' text where the hot spot
has none, clean places, and each member ticket with a title (triage.core.hotspots.titles).

Reads at most ``MEMBERS_READ`` members per untitled hot spot, in one query by primary key, so
a page of hot spots costs the same on the hundredth day as on the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from triage.core.hotspots.titles import clean_places, hotspot_title, is_raw_id, ticket_title
from triage.service.keys import HOTSPOT_STORE, STORE

__all__ = ["readable_members", "readable_summaries"]

MEMBERS_READ = 5


async def _texts(app: web.Application, ids: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    if not ids:
        return {}
    rows = await app[STORE].aggregate(
        "tickets",
        [{"$match": {"_id": {"$in": list(ids)}}}, {"$project": {"title": 1, "body": 1}}],
    )
    return {r["_id"]: (r.get("title"), r.get("body")) for r in rows}


def _untitled(title: Any) -> bool:
    return not isinstance(title, str) or not title.strip() or is_raw_id(title)


async def readable_summaries(
    app: web.Application, docs: Sequence[dict[str, Any]], summaries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``summaries`` (shaped from ``docs``, same order) with titles and places fit to read."""
    # The ranked list is read without its members: an untitled hot spot's own document (by
    # primary key) names them.
    members: dict[str, list[str]] = {}
    for doc, summary in zip(docs, summaries, strict=True):
        if _untitled(summary["title"]):
            ids = doc.get("members")
            if ids is None:
                full = await app[HOTSPOT_STORE].get(doc["_id"])
                ids = (full or {}).get("members", [])
            members[doc["_id"]] = list(ids)[:MEMBERS_READ]
    texts = await _texts(app, [m for ids in members.values() for m in ids])
    for doc, summary in zip(docs, summaries, strict=True):
        found = [texts[m] for m in members.get(doc["_id"], []) if m in texts]
        summary["title"] = hotspot_title(summary["title"], found)
        summary["places"] = clean_places(summary.get("places", []))
    return summaries


async def readable_members(app: web.Application, rows: list[dict[str, Any]]) -> None:
    """Gives every member row a title: its own, else the first clause of its text."""
    texts = await _texts(app, [r["ticket_id"] for r in rows if _untitled(r.get("title"))])
    for row in rows:
        if _untitled(row.get("title")):
            title, body = texts.get(row["ticket_id"], (None, None))
            row["title"] = ticket_title(title, body)
