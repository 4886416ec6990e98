"""The OpenAPI 3.1 document served at ``/openapi.json``.

Written by hand next to the handlers and kept true by the tests, which validate every response
they see against it, and by a schemathesis run against the live service.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

__all__ = ["add_routes", "document"]

S = dict[str, Any]


def _ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: S) -> S:
    return {"anyOf": [schema, {"type": "null"}]}


STR, NUM, INT, BOOL = (
    {"type": "string"},
    {"type": "number"},
    {"type": "integer"},
    {"type": "boolean"},
)
OSTR = _nullable(STR)

SCHEMAS: dict[str, S] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": STR, "message": STR, "field": STR},
            }
        },
    },
    "Span": {
        "type": "object",
        "required": ["field", "start", "end"],
        "properties": {"field": {"enum": ["title", "body"]}, "start": INT, "end": INT},
    },
    "Evidence": {
        "type": "object",
        "required": ["term", "weight", "spans"],
        "properties": {
            "term": STR,
            "weight": NUM,
            "spans": {"type": "array", "items": _ref("Span")},
        },
    },
    "SuggestRequest": {
        "type": "object",
        "required": ["body"],
        "additionalProperties": False,
        "properties": {
            "body": {"type": "string", "minLength": 1, "pattern": r"\S"},
            "title": _nullable({"type": "string", "maxLength": 500}),
            "location": _nullable({"type": "string", "maxLength": 500}),
            "k": {"type": "integer", "minimum": 1, "maximum": 10},
        },
    },
    "Suggestion": {
        "type": "object",
        "required": ["label", "probability", "department", "department_name"],
        "properties": {
            "label": STR,
            "probability": NUM,
            "department": OSTR,
            "department_name": OSTR,
        },
    },
    "SuggestResponse": {
        "type": "object",
        "required": [
            "model_version",
            "route",
            "department",
            "confidence",
            "threshold",
            "suggestions",
            "evidence",
            "text",
        ],
        "properties": {
            "model_version": STR,
            "route": {"enum": ["routed", "review"]},
            "department": OSTR,
            "confidence": NUM,
            "threshold": NUM,
            "district": OSTR,
            "suggestions": {"type": "array", "items": _ref("Suggestion")},
            "evidence": {"type": "array", "items": _ref("Evidence")},
            "text": {
                "type": "object",
                "required": ["title", "body", "location"],
                "properties": {"title": STR, "body": STR, "location": OSTR},
            },
        },
    },
    "Decision": {
        "type": "object",
        "required": ["decision_id", "kind", "department", "label", "confidence", "model_version"],
        "properties": {
            "decision_id": STR,
            "kind": {"enum": ["routed", "review"]},
            "department": OSTR,
            "label": STR,
            "confidence": NUM,
            "threshold": _nullable(NUM),
            "model_version": STR,
            "district": OSTR,
            "top_k": {"type": "array", "items": {"type": "object"}},
            "evidence": {"type": "array", "items": _ref("Evidence")},
            "at": OSTR,
        },
    },
    "TicketSummary": {
        "type": "object",
        "required": ["ticket_id", "status", "department"],
        "properties": {
            "ticket_id": STR,
            "received_at": OSTR,
            "channel": OSTR,
            "status": {
                "enum": ["review", "routed", "accepted", "returned", "resolved", "reassigned"]
            },
            "department": OSTR,
            "label": OSTR,
            "district": OSTR,
            "updated_at": OSTR,
        },
    },
    "Ticket": {
        "allOf": [
            _ref("TicketSummary"),
            {
                "type": "object",
                "required": ["title", "body", "decisions", "assignments", "timeline"],
                "properties": {
                    "title": OSTR,
                    "body": OSTR,
                    "location": OSTR,
                    "decisions": {"type": "array", "items": _ref("Decision")},
                    "assignments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["assignment_id", "department"],
                            "properties": {
                                "assignment_id": STR,
                                "department": STR,
                                "from_department": OSTR,
                                "event_id": STR,
                                "at": OSTR,
                            },
                        },
                    },
                    "timeline": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["status", "at", "by"],
                            "properties": {
                                "status": STR,
                                "at": OSTR,
                                "by": STR,
                                "event": OSTR,
                                "event_id": OSTR,
                                "department": OSTR,
                                "reason": OSTR,
                                "suggested_department": OSTR,
                            },
                        },
                    },
                },
            },
        ]
    },
    "TicketPage": {
        "type": "object",
        "required": ["items", "next"],
        "properties": {"items": {"type": "array", "items": _ref("TicketSummary")}, "next": OSTR},
    },
    "Event": {
        "type": "object",
        "required": ["event_id", "type"],
        "additionalProperties": False,
        "properties": {
            "event_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": r"^[A-Za-z0-9_.:-]+$",
            },
            "type": {"enum": ["accept", "return", "resolve", "reassign"]},
            "department": _nullable({"type": "string", "minLength": 1, "maxLength": 64}),
            "reason": _nullable({"type": "string", "maxLength": 500}),
            "suggested_department": _nullable({"type": "string", "minLength": 1, "maxLength": 64}),
            "ticket_id": _nullable({"type": "string", "minLength": 1, "maxLength": 64}),
        },
    },
    "EventResult": {
        "type": "object",
        "required": [
            "ticket_id",
            "event_id",
            "type",
            "status",
            "department",
            "duplicate",
            "assignment_id",
        ],
        "properties": {
            "ticket_id": STR,
            "event_id": STR,
            "type": STR,
            "status": STR,
            "department": OSTR,
            "duplicate": BOOL,
            "assignment_id": OSTR,
        },
    },
    "Departments": {
        "type": "object",
        "required": ["labels", "departments"],
        "properties": {
            "city": OSTR,
            "labels": {"type": "array", "items": STR},
            "districts": {"type": "array", "items": {"type": "object"}},
            "departments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "name", "level", "labels", "topic"],
                    "properties": {
                        "code": STR,
                        "name": STR,
                        "level": {"enum": ["city", "district"]},
                        "district": OSTR,
                        "labels": {"type": "array", "items": STR},
                        "threshold": _nullable(NUM),
                        "counterpart_of": OSTR,
                        "topic": STR,
                    },
                },
            },
        },
    },
    "Models": {
        "type": "object",
        "required": ["active", "versions", "activations"],
        "properties": {
            "active": STR,
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["version", "active"],
                    "properties": {
                        "version": STR,
                        "active": BOOL,
                        "created_at": OSTR,
                        "labels": {},
                        "thresholds": {},
                        "metrics": {},
                        "data": {},
                    },
                },
            },
            "activations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["activation", "version"],
                    "properties": {
                        "activation": INT,
                        "version": STR,
                        "kind": OSTR,
                        "rollback_to": _nullable(INT),
                        "at": OSTR,
                        "gate": {"type": ["object", "null"]},
                        "forced": {"type": ["boolean", "null"]},
                        "reason": OSTR,
                    },
                },
            },
        },
    },
    "Activation": {
        "type": "object",
        "required": ["active", "previous", "activation"],
        "properties": {
            "active": STR,
            "previous": STR,
            "activation": INT,
            "gate_passed": {"type": ["boolean", "null"]},
            "forced": BOOL,
        },
    },
    "ActivateRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"force": BOOL, "reason": {"type": "string", "maxLength": 500}},
    },
}


def _errors(*codes: int) -> dict[str, S]:
    return {
        str(c): {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}
        for c in codes
    }


def _ok(schema: str, description: str = "ok") -> dict[str, S]:
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    }


def _body(schema: str) -> S:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


AUTH: list[S] = [{"bearer": []}]
COMMON = (401, 403, 405, 500, 503)
TICKET_ID = {
    "name": "ticket_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}

PATHS: dict[str, S] = {
    "/v1/suggest": {
        "post": {
            "summary": "Ranked departments, evidence and the routing verdict for one text",
            "description": "Roles: agent, supervisor.",
            "security": AUTH,
            "requestBody": _body("SuggestRequest"),
            "responses": {**_ok("SuggestResponse"), **_errors(400, 413, 415, 422, *COMMON)},
        }
    },
    "/v1/tickets": {
        "get": {
            "summary": "A page of tickets, by department and status",
            "description": "Roles: agent, supervisor, department (its own tickets only).",
            "security": AUTH,
            "parameters": [
                {"name": "department", "in": "query", "schema": STR},
                {
                    "name": "status",
                    "in": "query",
                    "schema": {
                        "enum": [
                            "review",
                            "routed",
                            "accepted",
                            "returned",
                            "resolved",
                            "reassigned",
                        ]
                    },
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                },
                {
                    "name": "after",
                    "in": "query",
                    "schema": STR,
                    "description": "the `next` value of the previous page",
                },
            ],
            "responses": {**_ok("TicketPage"), **_errors(422, *COMMON)},
        }
    },
    "/v1/tickets/{ticket_id}": {
        "get": {
            "summary": "One ticket: masked text, every decision, the status timeline",
            "description": "Roles: agent, supervisor, department (its own tickets only).",
            "security": AUTH,
            "parameters": [TICKET_ID],
            "responses": {**_ok("Ticket"), **_errors(404, *COMMON)},
        }
    },
    "/v1/tickets/{ticket_id}/events": {
        "post": {
            "summary": "What happened next: accept, return (退单), resolve (办结), reassign",
            "description": "Departments accept, return and resolve their own tickets; agents "
            "reassign. Idempotent by event_id.",
            "security": AUTH,
            "parameters": [TICKET_ID],
            "requestBody": _body("Event"),
            "responses": {**_ok("EventResult"), **_errors(400, 404, 409, 413, 415, 422, *COMMON)},
        }
    },
    "/v1/departments": {
        "get": {
            "summary": "The department registry",
            "description": "Roles: all.",
            "security": AUTH,
            "responses": {**_ok("Departments"), **_errors(*COMMON)},
        }
    },
    "/v1/models": {
        "get": {
            "summary": "Model versions with their metrics, and the activation history",
            "description": "Roles: trainer, supervisor.",
            "security": AUTH,
            "responses": {**_ok("Models"), **_errors(*COMMON)},
        }
    },
    "/v1/models/{version}/activate": {
        "post": {
            "summary": "Make this version the active model on every replica",
            "description": (
                "Role: trainer. A version whose latest comparison (triage models compare) "
                "failed is refused with 409 unless the body says force with a reason; the "
                "activation history records the verdict, the force and the reason."
            ),
            "security": AUTH,
            "parameters": [{"name": "version", "in": "path", "required": True, "schema": STR}],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": _ref("ActivateRequest")}},
            },
            "responses": {
                **_ok("Activation"),
                **_errors(400, 404, 409, 413, 415, 422, *COMMON),
            },
        }
    },
    "/v1/models/rollback": {
        "post": {
            "summary": "Activate the version the current activation replaced",
            "description": "Role: trainer.",
            "security": AUTH,
            "responses": {**_ok("Activation"), **_errors(409, 422, *COMMON)},
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/healthz": {
        "get": {
            "summary": "Liveness",
            "responses": {
                "200": {
                    "description": "alive",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/readyz": {
        "get": {
            "summary": "Readiness, one check per dependency",
            "responses": {
                code: {
                    "description": "ready" if code == "200" else "not ready",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status", "checks"],
                                "properties": {
                                    "status": {"enum": ["ok", "fail"]},
                                    "checks": {"type": "object"},
                                },
                            }
                        }
                    },
                }
                for code in ("200", "503")
            },
        }
    },
}


def document(
    extra_paths: dict[str, S] | None = None, extra_schemas: dict[str, S] | None = None
) -> S:
    """The whole document, with the paths and schemas other route modules contribute."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hotline-triage",
            "version": "1",
            "description": "Routes 12345 hotline tickets to departments; suggestions, outcomes, "
            'models. Every error body is {"error": {"code", "message"}}.',
        },
        "paths": {**copy.deepcopy(PATHS), **(extra_paths or {})},
        "components": {
            "schemas": {**copy.deepcopy(SCHEMAS), **(extra_schemas or {})},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def add_routes(app: web.Application, spec: S) -> None:
    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(spec)

    app.router.add_get("/openapi.json", openapi)
