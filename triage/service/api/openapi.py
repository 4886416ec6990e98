"""The OpenAPI 3.1 document served at ``/openapi.json``.

Written by hand next to the handlers and kept true by the tests, which validate every response
they see against it, and by a schemathesis run against the live service.
"""

from __future__ import annotations

import copy

from aiohttp import web

from triage.service.api.schemas import SCHEMAS, STR, S, ref

__all__ = ["add_routes", "document"]


def _errors(*codes: int) -> dict[str, S]:
    return {
        str(c): {"description": "error", "content": {"application/json": {"schema": ref("Error")}}}
        for c in codes
    }


def _ok(schema: str, description: str = "ok") -> dict[str, S]:
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": ref(schema)}},
        }
    }


def _body(schema: str) -> S:
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


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
            "description": "Roles: agent, supervisor, department (its own tickets only). "
            "An unknown parameter gets 422 naming it.",
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
            "reassign. Idempotent by event_id: a repeat of an applied event answers "
            '"duplicate": true, a repeat of a refused one its first refusal (same status and '
            "reason), the id sent with other content 409. A reassign to a department that "
            "handles several "
            "labels (a merged district bureau) may state which one is meant in `label`; the "
            "outcomes export uses it as the ticket's label (422 when the department does not "
            "handle it, or with another event type).",
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
                "Role: trainer. Without force, the version needs a passed verdict (triage "
                "models compare) against the model active at this moment, by version and "
                "weights checksum; otherwise 409 names why: never compared, compared with "
                "another model, a stale verdict, or refused. With force and a reason it "
                "activates anyway; the activation history records the verdict that applied, "
                "the refusal, the force and the reason."
            ),
            "security": AUTH,
            "parameters": [{"name": "version", "in": "path", "required": True, "schema": STR}],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ref("ActivateRequest")}},
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
