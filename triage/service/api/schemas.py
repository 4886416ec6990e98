"""The component schemas of the OpenAPI document: every request and response body the API has.

Pure data with two small builders; ``openapi`` puts them together with the paths.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BOOL", "INT", "NUM", "OSTR", "SCHEMAS", "STR", "S", "nullable", "ref"]

S = dict[str, Any]


def ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: S) -> S:
    return {"anyOf": [schema, {"type": "null"}]}


STR, NUM, INT, BOOL = (
    {"type": "string"},
    {"type": "number"},
    {"type": "integer"},
    {"type": "boolean"},
)
OSTR = nullable(STR)

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
            "spans": {"type": "array", "items": ref("Span")},
        },
    },
    "SuggestRequest": {
        "type": "object",
        "required": ["body"],
        "additionalProperties": False,
        "properties": {
            "body": {"type": "string", "minLength": 1, "pattern": r"\S"},
            "title": nullable({"type": "string", "maxLength": 500}),
            "location": nullable({"type": "string", "maxLength": 500}),
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
            "suggestions": {"type": "array", "items": ref("Suggestion")},
            "evidence": {"type": "array", "items": ref("Evidence")},
            "text": {
                "type": "object",
                "required": ["title", "body", "location"],
                "properties": {"title": STR, "body": STR, "location": OSTR},
            },
            "similar": {"type": "array", "items": ref("SimilarTicket")},
            "hotspot": ref("HotspotBrief"),
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
            "threshold": nullable(NUM),
            "model_version": STR,
            "district": OSTR,
            "top_k": {"type": "array", "items": {"type": "object"}},
            "evidence": {"type": "array", "items": ref("Evidence")},
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
            ref("TicketSummary"),
            {
                "type": "object",
                "required": ["title", "body", "decisions", "assignments", "timeline"],
                "properties": {
                    "title": OSTR,
                    "body": OSTR,
                    "location": OSTR,
                    "decisions": {"type": "array", "items": ref("Decision")},
                    "assignments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["assignment_id", "department"],
                            "properties": {
                                "assignment_id": STR,
                                "department": STR,
                                "from_department": OSTR,
                                "label": OSTR,
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
        "properties": {"items": {"type": "array", "items": ref("TicketSummary")}, "next": OSTR},
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
            "department": nullable({"type": "string", "minLength": 1, "maxLength": 64}),
            "reason": nullable({"type": "string", "maxLength": 500}),
            "suggested_department": nullable({"type": "string", "minLength": 1, "maxLength": 64}),
            "label": nullable({"type": "string", "minLength": 1, "maxLength": 64}),
            "ticket_id": nullable({"type": "string", "minLength": 1, "maxLength": 64}),
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
                    "required": ["code", "name", "level", "labels", "deadlines", "topic"],
                    "properties": {
                        "code": STR,
                        "name": STR,
                        "level": {"enum": ["city", "district"]},
                        "district": OSTR,
                        "labels": {"type": "array", "items": STR},
                        "threshold": nullable(NUM),
                        "counterpart_of": OSTR,
                        "accept_hours": nullable(NUM),
                        "resolve_hours": nullable(NUM),
                        "deadlines": {
                            "type": "object",
                            "required": ["accept_hours", "resolve_hours"],
                            "properties": {"accept_hours": NUM, "resolve_hours": NUM},
                        },
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
                        "rollback_to": nullable(INT),
                        "at": OSTR,
                        "gate": {"type": ["object", "null"]},
                        "gate_refusal": OSTR,
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
            "gate_refusal": OSTR,
            "forced": BOOL,
        },
    },
    "ActivateRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"force": BOOL, "reason": {"type": "string", "maxLength": 500}},
    },
}
