"""``GET /v1/stats/...``: how complaints were handled, for supervisors and trainers.

Every route takes the same filter: ``from`` and ``to`` (local dates, both included) and
``department`` (a registry code). Ticket figures count tickets received in the range; event
figures (accepts, returns, resolves, hours) count events that happened in it (see
triage.core.stats).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from aiohttp import web

from triage.core import counter_stats, stats
from triage.core.stats import StatsQuery, StatsQueryError
from triage.service.api.auth import requires
from triage.service.api.errors import ApiError
from triage.service.keys import MODEL, REGISTRY, STORE

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "add_routes", "parse_query"]

READERS = ("supervisor", "trainer")
COUNTERS: Final = "daily_counters"
Parts = dict[str, list[dict[str, Any]]]
PARAMETERS = frozenset({"from", "to", "department"})
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(params: Mapping[str, str], name: str) -> date | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not _DAY.fullmatch(raw):
        raise ApiError(422, f"{name}={raw!r}: expected a date as YYYY-MM-DD", field=name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, f"{name}={raw!r}: not a calendar date", field=name) from None


def parse_query(request: web.Request) -> StatsQuery:
    """The filter of a stats request; 422 naming the parameter for anything unusable."""
    params = request.query
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise ApiError(
            422, f"unknown parameter {unknown[0]!r}; known: from, to, department", field=unknown[0]
        )
    department = params.get("department") or None
    if department is not None and department not in request.app[REGISTRY]:
        raise ApiError(422, f"unknown department {department!r}", field="department")
    try:
        return StatsQuery(_day(params, "from"), _day(params, "to"), department)
    except StatsQueryError as exc:
        raise ApiError(422, str(exc), field=exc.field) from None


def _json(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def _counters(request: web.Request, q: StatsQuery, *, everything: bool) -> Parts:
    """The counter documents of the range: per department, and (``everything``) global."""
    store = request.app[STORE]
    pipelines = [counter_stats.department_pipeline(q)]
    if everything:
        pipelines.append(counter_stats.global_pipeline(q))
    results = await asyncio.gather(*(store.aggregate(COUNTERS, p) for p in pipelines))
    return counter_stats.split(doc for rows in results for doc in rows)


@requires(*READERS)
async def summary(request: web.Request) -> web.Response:
    """Headline figures: volumes, auto-route rate, backlog, return rate, dead letters, models."""
    q = parse_query(request)
    parts = await _counters(request, q, everything=True)
    active = request.app[MODEL].version if MODEL in request.app else None
    return _json(counter_stats.summary(q, parts, active))


@requires(*READERS)
async def daily(request: web.Request) -> web.Response:
    """Tickets, auto-routed, reviewed and dead letters per local day."""
    q = parse_query(request)
    return _json(counter_stats.daily(q, await _counters(request, q, everything=True)))


@requires(*READERS)
async def departments(request: web.Request) -> web.Response:
    """Per department: volume, accepted, returned, resolved, return rate, hours, reasons."""
    q = parse_query(request)
    parts = await _counters(request, q, everything=False)
    names = {d.code: d.name for d in request.app[REGISTRY].departments}
    return _json(counter_stats.departments(q, parts, names))


@requires(*READERS)
async def accuracy(request: web.Request) -> web.Response:
    """First-routing accuracy of settled (accepted or resolved) tickets."""
    q = parse_query(request)
    return _json(counter_stats.accuracy(q, await _counters(request, q, everything=False)))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/stats/summary", summary)
    app.router.add_get("/v1/stats/daily", daily)
    app.router.add_get("/v1/stats/departments", departments)
    app.router.add_get("/v1/stats/accuracy", accuracy)


# --- OpenAPI 3.1 --------------------------------------------------------------------------
# Merged into /openapi.json by triage.service.api.openapi, which defines the `Error` schema and the
# `bearer` security scheme referred to here.

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


_INT = {"type": "integer", "minimum": 0}
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_NULLABLE_STR = {"type": ["string", "null"]}

_FILTER = [
    {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "First local day (Asia/Shanghai), included.",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "Last local day, included; at most 366 days after `from`.",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "department",
        "in": "query",
        "required": False,
        "description": "A department code of the registry (`GET /v1/departments`).",
        "schema": {"type": "string"},
    },
]


def _operation(summary: str, description: str, schema: str) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    return {
        "get": {
            "tags": ["stats"],
            "summary": summary,
            "description": description,
            "parameters": _FILTER,
            "security": [{"bearer": []}],
            "responses": {
                "200": {
                    "description": "The figures; roles supervisor and trainer.",
                    "content": {"application/json": {"schema": _ref(schema)}},
                },
                "401": {"description": "No or unknown bearer token.", **error},
                "403": {"description": "The role may not read statistics.", **error},
                "422": {"description": "A bad date, range or department.", **error},
                "503": {"description": "The ticket store is unreachable.", **error},
            },
        }
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/v1/stats/summary": _operation(
        "Headline figures",
        "Ticket volumes by status, channel, district, label and current department; auto-route "
        "rate; review backlog; outcome events and return rate (returns / (accepts + returns)); "
        "top return reasons; dead letters by reason kind (not filtered by department); decisions "
        "per model version and the active model.",
        "StatsSummary",
    ),
    "/v1/stats/daily": _operation(
        "Per-day volumes",
        "One row per local day of the range (days without tickets included).",
        "StatsDaily",
    ),
    "/v1/stats/departments": _operation(
        "Per-department handling",
        "Tickets each department holds (received in the range), its accepts, returns, resolves "
        "and reassignments to it (happened in the range), return rate, hours from receipt to "
        "first accept and to resolve (median and p90), and its top return reasons.",
        "StatsDepartments",
    ),
    "/v1/stats/accuracy": _operation(
        "First-routing accuracy",
        "Of tickets now accepted or resolved, the share whose first department (where the model "
        "routed it, or its top suggestion when reviewed) is the department that kept it.",
        "StatsAccuracy",
    ),
}

_COUNT_ROWS = {"type": "array", "items": _ref("StatsCount")}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "StatsRange": {
        "type": "object",
        "required": ["from", "to", "department"],
        "properties": {
            "from": {"type": ["string", "null"], "format": "date"},
            "to": {"type": ["string", "null"], "format": "date"},
            "department": _NULLABLE_STR,
        },
    },
    "StatsCount": {
        "type": "object",
        "required": ["key", "count"],
        "description": "A count for one value of a dimension; null key: no value (e.g. in review).",
        "properties": {"key": _NULLABLE_STR, "count": _INT},
    },
    "StatsReason": {
        "type": "object",
        "required": ["reason", "count"],
        "properties": {"reason": {"type": "string"}, "count": _INT},
    },
    "StatsHours": {
        "type": "object",
        "required": ["n", "median", "p90"],
        "description": "Hours over n tickets; median and p90 interpolate between ranks.",
        "properties": {
            "n": _INT,
            "median": {"type": ["number", "null"]},
            "p90": {"type": ["number", "null"]},
        },
    },
    "StatsScore": {
        "type": "object",
        "required": ["tickets", "correct", "accuracy"],
        "properties": {"tickets": _INT, "correct": _INT, "accuracy": _RATE},
    },
    "StatsSummary": {
        "type": "object",
        "required": [
            "range",
            "tickets",
            "auto_routed",
            "auto_route_rate",
            "backlog",
            "by_status",
            "by_channel",
            "by_district",
            "by_label",
            "by_department",
            "events",
            "return_rate",
            "top_return_reasons",
            "deadletters",
            "models",
            "active_model",
        ],
        "properties": {
            "range": _ref("StatsRange"),
            "tickets": _INT,
            "auto_routed": {**_INT, "description": "Routed by the model without review."},
            "auto_route_rate": _RATE,
            "backlog": {
                "type": "object",
                "description": "Tickets waiting for an agent now: in review, or returned.",
                "required": ["review", "returned", "total"],
                "properties": {"review": _INT, "returned": _INT, "total": _INT},
            },
            "by_status": {
                "type": "object",
                "required": list(stats.STATUSES),
                "properties": {s: _INT for s in stats.STATUSES},
            },
            "by_channel": _COUNT_ROWS,
            "by_district": _COUNT_ROWS,
            "by_label": _COUNT_ROWS,
            "by_department": _COUNT_ROWS,
            "events": {
                "type": "object",
                "required": list(stats.EVENT_TYPES),
                "properties": {t: _INT for t in stats.EVENT_TYPES},
            },
            "return_rate": {**_RATE, "description": "returns / (accepts + returns)"},
            "top_return_reasons": {"type": "array", "items": _ref("StatsReason"), "maxItems": 5},
            "deadletters": {
                "type": "object",
                "required": ["total", "by_reason"],
                "properties": {"total": _INT, "by_reason": _COUNT_ROWS},
            },
            "models": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["version", "decisions", "last_at"],
                    "properties": {
                        "version": _NULLABLE_STR,
                        "decisions": _INT,
                        "last_at": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            },
            "active_model": _NULLABLE_STR,
        },
    },
    "StatsDaily": {
        "type": "object",
        "required": ["range", "days"],
        "properties": {
            "range": _ref("StatsRange"),
            "days": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["day", "tickets", "auto_routed", "review", "deadletters"],
                    "properties": {
                        "day": {"type": "string", "format": "date"},
                        "tickets": _INT,
                        "auto_routed": _INT,
                        "review": {**_INT, "description": "Sent to review first."},
                        "deadletters": _INT,
                    },
                },
            },
        },
    },
    "StatsDepartments": {
        "type": "object",
        "required": ["range", "departments"],
        "properties": {
            "range": _ref("StatsRange"),
            "departments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "department",
                        "name",
                        "tickets",
                        "accepted",
                        "returned",
                        "resolved",
                        "reassigned_to",
                        "return_rate",
                        "hours_to_accept",
                        "hours_to_resolve",
                        "top_return_reasons",
                    ],
                    "properties": {
                        "department": {"type": "string"},
                        "name": _NULLABLE_STR,
                        "tickets": _INT,
                        "accepted": _INT,
                        "returned": _INT,
                        "resolved": _INT,
                        "reassigned_to": _INT,
                        "return_rate": _RATE,
                        "hours_to_accept": _ref("StatsHours"),
                        "hours_to_resolve": _ref("StatsHours"),
                        "top_return_reasons": {
                            "type": "array",
                            "items": _ref("StatsReason"),
                            "maxItems": 5,
                        },
                    },
                },
            },
        },
    },
    "StatsAccuracy": {
        "type": "object",
        "required": [
            "range",
            "tickets",
            "correct",
            "accuracy",
            "auto_routed",
            "reviewed",
            "by_department",
            "by_model",
            "unknown",
        ],
        "properties": {
            "range": _ref("StatsRange"),
            "tickets": _INT,
            "correct": _INT,
            "accuracy": _RATE,
            "auto_routed": _ref("StatsScore"),
            "reviewed": _ref("StatsScore"),
            "by_department": {
                "type": "array",
                "items": {
                    "allOf": [_ref("StatsScore")],
                    "type": "object",
                    "required": ["department"],
                    "properties": {"department": {"type": "string"}},
                },
            },
            "by_model": {
                "type": "array",
                "items": {
                    "allOf": [_ref("StatsScore")],
                    "type": "object",
                    "required": ["model_version"],
                    "properties": {"model_version": {"type": "string"}},
                },
            },
            "unknown": {**_INT, "description": "Settled tickets without a first department."},
        },
    },
}
