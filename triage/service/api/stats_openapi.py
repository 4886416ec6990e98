"""The OpenAPI 3.1 description of ``GET /v1/stats/...`` (merged into /openapi.json by
triage.service.api.openapi, which defines the `Error` schema and the `bearer` scheme)."""

from __future__ import annotations

from typing import Any

from triage.service.api.stats_schemas import OPENAPI_SCHEMAS

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
        "department; those waiting to be accepted or resolved past their department's "
        "statutory deadline in working hours (the registry's `accept_hours` / `resolve_hours` "
        "for it, else the service defaults; office hours of working days on China's official "
        "holiday calendar, 调休 included), counted from the hour the ticket reached the "
        "department.",
        "StatsBacklog",
    ),
    "/v1/stats/queue": _operation(
        "A department's queue",
        "The department's open tickets (routed, reassigned, accepted; at most 200 of each), "
        "by deadline: age since receipt, what they wait for, the department's statutory "
        "deadline in working hours and whether it has passed, with the deadlines that apply. "
        "`department` is required (a department token: its own).",
        "StatsQueue",
    ),
    "/v1/stats/routings": _operation(
        "Most frequent wrong routings",
        "Settled tickets whose first department (routed to) is not the one that kept them "
        "(settled at), by pair, most frequent first (at most 20).",
        "StatsRoutings",
    ),
}
