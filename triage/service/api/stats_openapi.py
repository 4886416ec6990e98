"""The OpenAPI 3.1 description of ``GET /v1/stats/...`` (merged into /openapi.json by
triage.service.api.openapi, which defines the `Error` schema and the `bearer` scheme)."""

from __future__ import annotations

from typing import Any

from triage.core import stats

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS"]


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
    {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "json (default), or the figures as a table with Chinese headers: csv "
        "(UTF-8 with a byte-order mark) or xlsx, as an attachment.",
        "schema": {"type": "string", "enum": ["json", "csv", "xlsx"]},
    },
]
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
                    "description": "The figures; roles supervisor and trainer, or a "
                    "department for its own figures only.",
                    "content": {
                        "application/json": {"schema": _ref(schema)},
                        "text/csv": {"schema": {"type": "string"}},
                        _XLSX: {"schema": {"type": "string", "format": "binary"}},
                    },
                },
                "401": {"description": "No or unknown bearer token.", **error},
                "403": {
                    "description": "The role may not read statistics, or a department "
                    "asked for another's.",
                    **error,
                },
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
    "/v1/stats/backlog": _operation(
        "Backlog ageing and overdue tickets",
        "Open tickets (received in the range) by age in local days since receipt, per "
        "department; those waiting to be accepted or resolved past the statutory deadline in "
        "working hours (office hours of working days on China's official holiday calendar, "
        "调休 included), counted from the hour the ticket reached the department.",
        "StatsBacklog",
    ),
    "/v1/stats/queue": _operation(
        "A department's queue",
        "The department's open tickets (routed, reassigned, accepted; at most 200 of each), "
        "by deadline: age since receipt, what they wait for, the statutory deadline in working "
        "hours and whether it has passed. `department` is required (a department token: its "
        "own).",
        "StatsQueue",
    ),
    "/v1/stats/routings": _operation(
        "Most frequent wrong routings",
        "Settled tickets whose first department (routed to) is not the one that kept them "
        "(settled at), by pair, most frequent first (at most 20).",
        "StatsRoutings",
    ),
}

_COUNT_ROWS = {"type": "array", "items": _ref("StatsCount")}

_AGES = {"type": "array", "items": _ref("StatsCount")}
_HOURS = {"type": "number", "minimum": 0}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "StatsBacklog": {
        "type": "object",
        "required": [
            "range",
            "now",
            "calendar",
            "deadlines",
            "open",
            "ages",
            "overdue_accept",
            "overdue_resolve",
            "departments",
        ],
        "properties": {
            "range": _ref("StatsRange"),
            "now": {"type": "string", "format": "date-time"},
            "calendar": {"type": "string", "description": "The holiday calendar used."},
            "deadlines": {
                "type": "object",
                "required": ["accept_hours", "resolve_hours"],
                "properties": {"accept_hours": _HOURS, "resolve_hours": _HOURS},
            },
            "open": _INT,
            "ages": {**_AGES, "description": "Open tickets by age bucket (0-1d ... 30d+)."},
            "overdue_accept": _INT,
            "overdue_resolve": _INT,
            "departments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "department",
                        "name",
                        "open",
                        "by_status",
                        "ages",
                        "waiting_accept",
                        "waiting_resolve",
                        "overdue_accept",
                        "overdue_resolve",
                        "accept_hours",
                        "resolve_hours",
                    ],
                    "properties": {
                        "department": {
                            **_NULLABLE_STR,
                            "description": "null: with the hotline (review, returned).",
                        },
                        "name": _NULLABLE_STR,
                        "open": _INT,
                        "by_status": {"type": "object", "additionalProperties": _INT},
                        "ages": {"type": "object", "additionalProperties": _INT},
                        "waiting_accept": _INT,
                        "waiting_resolve": _INT,
                        "overdue_accept": _INT,
                        "overdue_resolve": _INT,
                        "accept_hours": _HOURS,
                        "resolve_hours": _HOURS,
                    },
                },
            },
        },
    },
    "StatsQueue": {
        "type": "object",
        "required": ["range", "department", "now", "overdue", "tickets"],
        "properties": {
            "range": _ref("StatsRange"),
            "department": {"type": "string"},
            "now": {"type": "string", "format": "date-time"},
            "overdue": _INT,
            "tickets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "ticket_id",
                        "status",
                        "title",
                        "channel",
                        "received_at",
                        "age_hours",
                        "waiting_for",
                        "due",
                        "overdue",
                    ],
                    "properties": {
                        "ticket_id": {"type": "string"},
                        "status": {"type": "string"},
                        "title": {"type": "string"},
                        "channel": _NULLABLE_STR,
                        "received_at": {"type": "string", "format": "date-time"},
                        "age_hours": {"type": "number"},
                        "waiting_for": {"type": "string", "enum": ["accept", "resolve"]},
                        "due": {"type": "string", "format": "date-time"},
                        "overdue": {"type": "boolean"},
                    },
                },
            },
        },
    },
    "StatsRoutings": {
        "type": "object",
        "required": ["range", "settled", "wrong", "routings"],
        "properties": {
            "range": _ref("StatsRange"),
            "settled": _INT,
            "wrong": _INT,
            "routings": {
                "type": "array",
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "required": [
                        "routed_to",
                        "routed_to_name",
                        "settled_at",
                        "settled_at_name",
                        "count",
                    ],
                    "properties": {
                        "routed_to": {"type": "string"},
                        "routed_to_name": _NULLABLE_STR,
                        "settled_at": {"type": "string"},
                        "settled_at_name": _NULLABLE_STR,
                        "count": _INT,
                    },
                },
            },
        },
    },
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
