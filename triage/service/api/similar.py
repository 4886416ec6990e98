"""`similar` and `hotspot` of ``POST /v1/suggest``: recent tickets about the same problem, where
each went and how it ended, and the hot spot the text would join.

The window searched is each replica's ``SimilarIndex``, fed by the hot-spot stage's output, so
every replica answers alike; what a ticket and a hot spot are now (title, department, status,
counts) is read from MongoDB by primary key, or from what was read there less than two seconds
ago (``triage.adapters.recent_reads``). Only matches of ``SIMILAR_MIN`` or more are
listed (README, "Hot spots": how the cut-off was chosen); an empty list is a valid answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from triage.core.hotspots import Match
from triage.core.outcomes import STATUS_LABELS
from triage.service.keys import HOTSPOT_STORE, HOTSPOTS, RECENT_HOTSPOTS, RECENT_TICKETS, REGISTRY

__all__ = ["SIMILAR_MIN", "similar_for"]

# bench/similar_cutoff.py: at 0.35 and above, 98.5% of the matches on the shared hot-spot
# messages fall in the same hot spot of `triage hotspots`, and 89% of those on the classifier
# messages carry the same topic label (81% at 0.30, 75% at 0.20).
SIMILAR_MIN = 0.35
# A ticket without a title is shown by the start of its text.
TITLE_CHARS = 30


def _title(doc: dict[str, Any]) -> str:
    title = (doc.get("title") or "").strip()
    if title:
        return str(title)
    body = " ".join(str(doc.get("body") or "").split())
    return body[:TITLE_CHARS] + ("…" if len(body) > TITLE_CHARS else "")


async def similar_for(app: web.Application, title: str, body: str) -> dict[str, Any]:
    """Empty where no window is kept (TRIAGE_HOTSPOT_WINDOW_DAYS=0)."""
    index = app.get(HOTSPOTS)
    if index is None:
        return {"similar": [], "hotspot": None}
    matches: list[Match]
    matches, joins = index.similar(title, body)
    matches = [m for m in matches if m.similarity >= SIMILAR_MIN]
    store = app[HOTSPOT_STORE]

    async def tickets(ids: list[str]) -> dict[str, Any]:
        return await store.tickets(ids, body=True)

    found = (
        await app[RECENT_TICKETS].many([m.ticket_id for m in matches], tickets) if matches else {}
    )
    names = {d.code: d.name for d in app[REGISTRY].departments}
    similar = []
    for m in matches:
        doc = found.get(m.ticket_id)
        if doc is None:  # not stored here: another deployment's window, or deleted
            continue
        department, status = doc.get("department"), doc.get("status")
        similar.append(
            {
                "ticket_id": m.ticket_id,
                "similarity": m.similarity,
                "hotspot_id": m.hotspot_id,
                "title": _title(doc),
                "department": department,
                "department_name": names.get(department) if department else None,
                "status": status,
                "status_label": STATUS_LABELS.get(status) if status else None,
            }
        )
    hotspot = None
    spot = await app[RECENT_HOTSPOTS].one(joins, store.get) if joins else None
    if spot is not None:
        hotspot = {
            "hotspot_id": spot["_id"],
            "title": spot.get("title", ""),
            "tickets": int(spot.get("tickets", 0)),
            "heat": float(spot.get("heat", 0.0)),
        }
    return {"similar": similar, "hotspot": hotspot}
