"""``GET /v1/hotspots`` ranked by heat and ``GET /v1/hotspots/{id}`` with its members.

Roles as for the statistics (supervisor, trainer, and a department for the hot spots that
reached it), plus agents, who see the same problem arriving on their phones. The list reads
only the `hotspots` collection, through its heat index; a hot spot's page looks its members
up by primary key, the first ``MEMBERS_SHOWN``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from aiohttp import web

from triage.adapters.store import HotspotQuery
from triage.service.api.auth import PRINCIPAL, requires
from triage.service.api.errors import ApiError, json_response
from triage.service.api.hotspot_titles import readable_members, readable_summaries
from triage.service.api.query import local_day, readable_department, refuse_unknown
from triage.service.keys import HOTSPOT_STORE, REGISTRY

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "add_routes"]

READERS = ("supervisor", "trainer", "agent", "department")
PARAMETERS = ("from", "to", "department", "limit")
MEMBERS_SHOWN = 200
_ID = re.compile(r"hs-[0-9a-f]{16}")


def _iso_day(params: Any, name: str) -> str | None:
    day = local_day(params, name)
    return None if day is None else day.isoformat()


def parse_query(request: web.Request) -> HotspotQuery:
    params = request.query
    refuse_unknown(params, PARAMETERS)
    first, last = _iso_day(params, "from"), _iso_day(params, "to")
    if first is not None and last is not None and first > last:
        raise ApiError(422, f"from={first} is after to={last}", field="from")
    # A department reads the hot spots that reached it, only.
    department = readable_department(request, params.get("department") or None)
    if (
        department is not None
        and department != "review"
        and department not in request.app[REGISTRY]
    ):
        raise ApiError(422, f"unknown department {department!r}", field="department")
    raw_limit = params.get("limit") or "20"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise ApiError(422, f"limit={raw_limit!r}: expected 1..100", field="limit")
    return HotspotQuery(first, last, department, int(raw_limit))


def _iso(value: datetime) -> str:
    return value.isoformat()


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "hotspot_id": doc["_id"],
        "title": doc.get("title", ""),
        "places": doc.get("places", []),
        "first_at": _iso(doc["first_at"]),
        "last_at": _iso(doc["last_at"]),
        "tickets": doc.get("tickets", 0),
        "callers": doc.get("callers", 0),
        "likes": doc.get("likes", 0),
        "peak_7d": doc.get("peak_7d", 0),
        "recent_7d": doc.get("recent_7d", 0),
        "heat": float(doc.get("heat", 0.0)),
        "departments": doc.get("department_counts", {}),
    }


@requires(*READERS)
async def list_hotspots(request: web.Request) -> web.Response:
    query = parse_query(request)
    docs = await request.app[HOTSPOT_STORE].ranked(query)
    return json_response(
        {
            "from": query.first_day,
            "to": query.last_day,
            "department": query.department,
            "hotspots": await readable_summaries(request.app, docs, [_summary(d) for d in docs]),
        }
    )


@requires(*READERS)
async def get_hotspot(request: web.Request) -> web.Response:
    hotspot_id = request.match_info["hotspot_id"]
    if not _ID.fullmatch(hotspot_id):
        raise ApiError(404, f"no hot spot {hotspot_id!r}")
    store = request.app[HOTSPOT_STORE]
    doc = await store.get(hotspot_id)
    if doc is None:
        raise ApiError(404, f"no hot spot {hotspot_id!r}")
    principal = request[PRINCIPAL]
    if principal.role == "department" and principal.department not in doc.get(
        "department_counts", {}
    ):
        raise ApiError(403, f"hot spot {hotspot_id!r} never reached {principal.department!r}")
    members: list[str] = list(doc.get("members", []))
    shown = members[-MEMBERS_SHOWN:]
    found = await store.tickets(shown)
    rows = [
        {
            "ticket_id": tid,
            "received_at": _iso(found[tid]["received_at"]) if tid in found else None,
            "title": found.get(tid, {}).get("title"),
            "department": found.get(tid, {}).get("department"),
            "status": found.get(tid, {}).get("status"),
        }
        for tid in shown
    ]
    statuses = Counter(r["status"] for r in rows if r["status"] is not None)
    await readable_members(request.app, rows)
    return json_response(
        {
            **(await readable_summaries(request.app, [doc], [_summary(doc)]))[0],
            "days": doc.get("days", {}),
            "statuses": dict(statuses),
            "members_listed": len(members),
            "members": rows,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/hotspots", list_hotspots)
    app.router.add_get("/v1/hotspots/{hotspot_id}", get_hotspot)


# --- OpenAPI 3.1 (merged into /openapi.json by triage.service.api.openapi) ------------------

_REF = "#/components/schemas/"
_INT = {"type": "integer", "minimum": 0}
_STR = {"type": "string"}
_OSTR = {"type": ["string", "null"]}
_COUNTS = {"type": "object", "additionalProperties": _INT}
_ERROR = {"content": {"application/json": {"schema": {"$ref": _REF + "Error"}}}}


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _get(summary: str, schema: str, parameters: list[dict[str, Any]], *codes: int) -> Any:
    reasons = {
        401: "No or unknown bearer token.",
        403: "The role may not read hot spots, or a department asks for another's.",
        404: "No such hot spot.",
        422: "A bad date, department or limit.",
        503: "The store is unreachable.",
    }
    return {
        "get": {
            "tags": ["hotspots"],
            "summary": summary,
            "description": "Roles: supervisor, trainer, agent.",
            "parameters": parameters,
            "security": [{"bearer": []}],
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"$ref": _REF + schema}}},
                },
                **{str(c): {"description": reasons[c], **_ERROR} for c in codes},
            },
        }
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/v1/hotspots": _get(
        "Hot spots ranked by heat",
        "HotspotList",
        [
            _param(
                "from",
                "First local day a hot spot must reach.",
                {"type": "string", "format": "date"},
            ),
            _param(
                "to",
                "Last local day a hot spot must start by.",
                {"type": "string", "format": "date"},
            ),
            _param("department", "A department code, or `review`.", _STR),
            _param(
                "limit",
                "How many (1-100, default 20).",
                {"type": "integer", "minimum": 1, "maximum": 100},
            ),
        ],
        401,
        403,
        422,
        503,
    ),
    "/v1/hotspots/{hotspot_id}": {
        "get": {
            **_get("One hot spot with its members", "HotspotDetail", [], 401, 403, 404, 503)["get"],
            "parameters": [{"name": "hotspot_id", "in": "path", "required": True, "schema": _STR}],
        }
    },
}

_SUMMARY_PROPS: dict[str, Any] = {
    "hotspot_id": _STR,
    "title": _STR,
    "places": {"type": "array", "items": _STR},
    "first_at": {"type": "string", "format": "date-time"},
    "last_at": {"type": "string", "format": "date-time"},
    "tickets": _INT,
    "callers": _INT,
    "likes": _INT,
    "peak_7d": _INT,
    "recent_7d": _INT,
    "heat": {"type": "number"},
    "departments": _COUNTS,
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "HotspotSummary": {
        "type": "object",
        "required": sorted(_SUMMARY_PROPS),
        "properties": _SUMMARY_PROPS,
    },
    "HotspotList": {
        "type": "object",
        "required": ["from", "to", "department", "hotspots"],
        "properties": {
            "from": _OSTR,
            "to": _OSTR,
            "department": _OSTR,
            "hotspots": {"type": "array", "items": {"$ref": _REF + "HotspotSummary"}},
        },
    },
    "HotspotDetail": {
        "type": "object",
        "required": [*sorted(_SUMMARY_PROPS), "days", "statuses", "members_listed", "members"],
        "properties": {
            **_SUMMARY_PROPS,
            "days": _COUNTS,
            "statuses": _COUNTS,
            "members_listed": _INT,
            "members": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["ticket_id", "received_at", "title", "department", "status"],
                    "properties": {
                        "ticket_id": _STR,
                        "received_at": _OSTR,
                        "title": _OSTR,
                        "department": _OSTR,
                        "status": _OSTR,
                    },
                },
            },
        },
    },
    "SimilarTicket": {
        "type": "object",
        "required": [
            "ticket_id",
            "similarity",
            "hotspot_id",
            "title",
            "department",
            "department_name",
            "status",
            "status_label",
        ],
        "properties": {
            "ticket_id": _STR,
            "similarity": {"type": "number", "minimum": 0, "maximum": 1},
            "hotspot_id": _STR,
            "title": {**_STR, "description": "The ticket's title, else its text's start."},
            "department": _OSTR,
            "department_name": _OSTR,
            "status": _OSTR,
            "status_label": {**_OSTR, "description": "The status in Chinese, e.g. 已派单."},
        },
    },
    "HotspotBrief": {
        "type": ["object", "null"],
        "required": ["hotspot_id", "title", "tickets", "heat"],
        "properties": {
            "hotspot_id": _STR,
            "title": _STR,
            "tickets": _INT,
            "heat": {"type": "number"},
        },
    },
}
