"""What the dashboard's desks need beyond the statistics: who the token is (``GET /v1/me``, so
the page shows each role its own desk and never calls what it may not read) and the hotline's
review queue (``GET /v1/review``: tickets in review and returned ones, oldest first, with the
hotline's deadline to dispatch them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from triage.core.review_queue import REVIEW_STATUSES, review_queue
from triage.service.api.auth import PRINCIPAL, ROLES, requires
from triage.service.api.errors import json_response
from triage.service.api.query import refuse_unknown
from triage.service.keys import DEADLINES, REGISTRY, STORE

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "add_routes"]

# Per status, the oldest this many: the queue's page, whatever the history's size.
QUEUE_LIMIT = 200


@requires(*sorted(ROLES))
async def me(request: web.Request) -> web.Response:
    refuse_unknown(request.query, ())
    principal = request[PRINCIPAL]
    name = None
    if principal.department is not None and principal.department in request.app[REGISTRY]:
        name = request.app[REGISTRY].department(principal.department).name
    return json_response(
        {"role": principal.role, "department": principal.department, "department_name": name}
    )


@requires("agent", "supervisor")
async def review(request: web.Request) -> web.Response:
    refuse_unknown(request.query, ())
    store = request.app[STORE]
    docs = []
    for status in REVIEW_STATUSES:
        docs += await store.list_tickets(
            department=None, status=status, limit=QUEUE_LIMIT, after=None
        )
    body = review_queue(docs, request.app[DEADLINES](None), datetime.now(UTC))
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/me", me)
    app.router.add_get("/v1/review", review)


# --- OpenAPI 3.1 (merged into /openapi.json by triage.service.api.openapi) ------------------

_REF = "#/components/schemas/"
_STR = {"type": "string"}
_OSTR = {"type": ["string", "null"]}
_ERROR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
}


def _get(summary: str, roles: str, schema: str) -> dict[str, Any]:
    return {
        "get": {
            "tags": ["desks"],
            "summary": summary,
            "description": f"Roles: {roles}.",
            "security": [{"bearer": []}],
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"$ref": _REF + schema}}},
                },
                **{str(c): _ERROR for c in (401, 403, 422, 503)},
            },
        }
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/v1/me": _get("The token's role and, for a department, which one", "all", "Me"),
    "/v1/review": _get(
        "The hotline's review queue: review and returned tickets, oldest first, with deadlines",
        "agent, supervisor",
        "ReviewQueue",
    ),
}

_ROW: dict[str, Any] = {
    "ticket_id": _STR,
    "status": {"enum": list(REVIEW_STATUSES)},
    "title": _STR,
    "channel": _OSTR,
    "district": _OSTR,
    "received_at": {"type": "string", "format": "date-time"},
    "waiting_since": {"type": "string", "format": "date-time"},
    "age_hours": {"type": "number"},
    "due": {"type": "string", "format": "date-time"},
    "overdue": {"type": "boolean"},
    "returned_by": _OSTR,
    "return_reason": _OSTR,
    "suggested_department": _OSTR,
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "Me": {
        "type": "object",
        "required": ["role", "department", "department_name"],
        "properties": {
            "role": {"enum": sorted(ROLES)},
            "department": _OSTR,
            "department_name": _OSTR,
        },
    },
    "ReviewQueue": {
        "type": "object",
        "required": ["now", "deadline_hours", "overdue", "tickets"],
        "properties": {
            "now": {"type": "string", "format": "date-time"},
            "deadline_hours": {"type": "number"},
            "overdue": {"type": "integer", "minimum": 0},
            "tickets": {
                "type": "array",
                "items": {"type": "object", "required": sorted(_ROW), "properties": _ROW},
            },
        },
    },
}
