"""Tickets and their outcomes: read one, list a queue, post what happened next.

A department token sees and acts on its own tickets only: the tickets it currently holds, or
held last (a returned ticket stays visible to the department that returned it until reassigned).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from triage.adapters.outcome_handler import EventIn, handle_event
from triage.core.outcomes import STATUSES, Actor
from triage.service.api.auth import PRINCIPAL, Principal, requires
from triage.service.api.errors import ApiError, decode_json
from triage.service.api.query import refuse_unknown
from triage.service.keys import PRODUCER, REGISTRY, SETTINGS, STORE

__all__ = ["add_routes", "ticket_json"]

MAX_PAGE = 200
LIST_PARAMETERS = ("department", "status", "limit", "after")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _decision(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision_id": d.get("decision_id"),
        "kind": d.get("kind"),
        "department": d.get("department"),
        "label": d.get("label"),
        "confidence": d.get("confidence"),
        "threshold": d.get("threshold"),
        "model_version": d.get("model_version"),
        "district": d.get("district"),
        "top_k": d.get("top_k", []),
        "evidence": [
            {
                "term": e["term"],
                "weight": e["weight"],
                "spans": [{"field": f, "start": s, "end": t} for f, s, t in e.get("spans", [])],
            }
            for e in d.get("evidence", [])
        ],
        "at": _iso(d.get("at")),
    }


def _timeline(h: dict[str, Any]) -> dict[str, Any]:
    record = h.get("record") or {}
    return {
        "status": h.get("status"),
        "at": _iso(h.get("at")),
        "by": h.get("by"),
        "event": h.get("event"),
        "event_id": h.get("event_id"),
        "department": h.get("department"),
        "reason": record.get("reason"),
        "suggested_department": record.get("suggested_department"),
    }


def ticket_json(doc: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
    """The API shape of a stored ticket; ``full`` adds texts, decisions and the timeline."""
    out: dict[str, Any] = {
        "ticket_id": doc["_id"],
        "received_at": _iso(doc.get("received_at")),
        "channel": doc.get("channel"),
        "status": doc.get("status"),
        "department": doc.get("department"),
        "label": doc.get("label"),
        "district": doc.get("district"),
        "updated_at": _iso(doc.get("updated_at")),
    }
    if full:
        out["title"] = doc.get("title")
        out["body"] = doc.get("body")
        out["location"] = doc.get("location")
        out["decisions"] = [_decision(d) for d in doc.get("decisions", [])]
        out["assignments"] = [
            {
                "assignment_id": a.get("assignment_id"),
                "department": a.get("department"),
                "from_department": a.get("from_department"),
                "label": a.get("label"),
                "event_id": a.get("event_id"),
                "at": _iso(a.get("at")),
            }
            for a in doc.get("assignments", [])
        ]
        out["timeline"] = [_timeline(h) for h in doc.get("status_history", [])]
        # Tickets stored before the first entry carried its department: the decision's.
        for entry, decision in zip(out["timeline"][:1], out["decisions"][:1], strict=False):
            entry["department"] = entry["department"] or decision["department"]
    return out


def _visible(principal: Principal, doc: dict[str, Any]) -> bool:
    return principal.role != "department" or doc.get("department") == principal.department


@requires("agent", "supervisor", "department")
async def get_ticket(request: web.Request) -> web.Response:
    ticket_id = request.match_info["ticket_id"]
    doc = await request.app[STORE].get(ticket_id)
    if doc is None:
        raise ApiError(404, f"no ticket {ticket_id!r}")
    if not _visible(request[PRINCIPAL], doc):
        raise ApiError(403, "this ticket belongs to another department")
    return web.json_response(ticket_json(doc))


@requires("agent", "supervisor", "department")
async def list_tickets(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    query = request.query
    refuse_unknown(query, LIST_PARAMETERS)
    department = query.get("department") or None
    status = query.get("status") or None
    after = query.get("after") or None
    if principal.role == "department":
        if department not in (None, principal.department):
            raise ApiError(403, "a department lists its own tickets only")
        department = principal.department
    if status is not None and status not in STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(STATUSES)}", field="status")
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        raise ApiError(422, "limit must be a whole number", field="limit") from None
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, f"limit must be in 1..{MAX_PAGE}", field="limit")
    docs = await request.app[STORE].list_tickets(
        department=department, status=status, limit=limit, after=after
    )
    next_after = docs[-1]["_id"] if len(docs) == limit else None
    return web.json_response(
        {"items": [ticket_json(d, full=False) for d in docs], "next": next_after}
    )


@requires("agent", "department")
async def post_event(request: web.Request) -> web.Response:
    app = request.app
    principal = request[PRINCIPAL]
    ticket_id = request.match_info["ticket_id"]
    event = await decode_json(request, EventIn)
    if event.ticket_id is not None and event.ticket_id != ticket_id:
        raise ApiError(422, "ticket_id differs from the one in the path", field="ticket_id")
    if principal.role == "department":
        if event.type == "reassign":
            raise ApiError(403, "a department returns a ticket; an agent reassigns it")
        if event.department not in (None, principal.department):
            raise ApiError(403, "a department acts for itself only", field="department")
        # Whether the ticket is with this department is the handler's to decide, after it
        # looked the event id up: a retry gets the first answer, not one on today's state.
    elif event.type != "reassign":
        raise ApiError(403, f"an agent may reassign; {event.type} is for the department")
    result = await handle_event(
        ticket_id,
        event,
        Actor(principal.role, principal.department),
        store=app[STORE],
        producer=app[PRODUCER],
        registry=app[REGISTRY],
        topics=app[SETTINGS].topics,
    )
    return web.json_response(result.to_json())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/tickets", list_tickets)
    app.router.add_get("/v1/tickets/{ticket_id}", get_ticket)
    app.router.add_post("/v1/tickets/{ticket_id}/events", post_event)
