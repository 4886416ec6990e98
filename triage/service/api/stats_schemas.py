"""The component schemas of the statistics responses (``GET /v1/stats/...``); the paths that
use them are in ``stats_openapi``."""

from __future__ import annotations

from typing import Any

from triage.core import stats

__all__ = ["OPENAPI_SCHEMAS"]

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


_INT = {"type": "integer", "minimum": 0}
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_NULLABLE_STR = {"type": ["string", "null"]}

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
                **_ref("StatsDeadlines"),
                "description": "The filtered department's deadlines, else the default; each "
                "department row carries its own.",
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
    "StatsDeadlines": {
        "type": "object",
        "required": ["accept_hours", "resolve_hours"],
        "description": "Statutory deadlines in working hours from when a ticket reaches the "
        "department: the registry's for the department, else TRIAGE_ACCEPT_HOURS and "
        "TRIAGE_RESOLVE_HOURS.",
        "properties": {"accept_hours": _HOURS, "resolve_hours": _HOURS},
    },
    "StatsQueue": {
        "type": "object",
        "required": ["range", "department", "now", "deadlines", "overdue", "tickets"],
        "properties": {
            "range": _ref("StatsRange"),
            "department": {"type": "string"},
            "now": {"type": "string", "format": "date-time"},
            "deadlines": _ref("StatsDeadlines"),
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
