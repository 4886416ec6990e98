"""A model in shadow: start and stop it, and compare it with the routing model.

POST   /v1/models/{version}/shadow    every replica scores each batch with it too
DELETE /v1/models/{version}/shadow    stop
GET    /v1/stats/shadow               per version: agreement, first-choice accuracy
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from triage.adapters.shadow import start_shadow, stop_shadow
from triage.core.shadow_stats import agreement_pipeline, settled_pipeline, shape_shadow
from triage.service.api.auth import requires
from triage.service.api.stats import parse_query
from triage.service.keys import CATALOG, MODEL, REGISTRY, SHADOW, STORE

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "add_routes"]


@requires("trainer")
async def start(request: web.Request) -> web.Response:
    app = request.app
    result = await start_shadow(
        request.match_info["version"],
        slot=app[MODEL],
        catalog=app[CATALOG],
        state=app[SHADOW],
        registry_labels=frozenset(app[REGISTRY].labels),
    )
    return web.json_response(result)


@requires("trainer")
async def stop(request: web.Request) -> web.Response:
    app = request.app
    result = await stop_shadow(request.match_info["version"], slot=app[MODEL], state=app[SHADOW])
    return web.json_response(result)


@requires("trainer", "supervisor")
async def figures(request: web.Request) -> web.Response:
    app = request.app
    q = parse_query(request)
    store = app[STORE]
    agreement = await store.aggregate("tickets", agreement_pipeline(q))
    settled = await store.aggregate("tickets", settled_pipeline(q))
    body = shape_shadow(
        q,
        app[REGISTRY],
        agreement,
        settled,
        active=app[MODEL].version,
        shadow=app[MODEL].shadow_version,
    )
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/models/{version}/shadow", start)
    app.router.add_delete("/v1/models/{version}/shadow", stop)
    app.router.add_get("/v1/stats/shadow", figures)


_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_VERSION = [{"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}]


def _answer(schema: str, *codes: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {
            "description": "ok",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }
    for code in (401, 403, 503, *codes):
        out[str(code)] = {"description": "error", **_ERROR}
    return out


_SWITCH = {
    "security": [{"bearer": []}],
    "parameters": _VERSION,
    "responses": _answer("Shadow", 404, 409, 422),
}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/models/{version}/shadow": {
        "post": {
            "summary": "Score every live batch with this version too; it routes nothing",
            "description": "Role: trainer.",
            **_SWITCH,
        },
        "delete": {
            "summary": "Stop the shadow model",
            "description": "Role: trainer.",
            **_SWITCH,
        },
    },
    "/v1/stats/shadow": {
        "get": {
            "tags": ["stats"],
            "summary": "Per model version: agreement with the routing model, first-choice accuracy",
            "description": (
                "Roles: supervisor, trainer. Accuracy is the share of settled (accepted or "
                "resolved) tickets whose settled department stands for the version's top label."
            ),
            "security": [{"bearer": []}],
            "parameters": [
                {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                for n in ("from", "to", "department")
            ],
            "responses": _answer("ShadowStats", 422),
        }
    },
}

_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_COUNT = {"type": "integer", "minimum": 0}
_OSTR = {"type": ["string", "null"]}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "Shadow": {
        "type": "object",
        "required": ["shadow", "previous", "active"],
        "properties": {"shadow": _OSTR, "previous": _OSTR, "active": {"type": "string"}},
    },
    "ShadowStats": {
        "type": "object",
        "required": ["active", "shadow", "versions"],
        "properties": {
            "from": _OSTR,
            "to": _OSTR,
            "department": _OSTR,
            "active": {"type": "string"},
            "shadow": _OSTR,
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["version", "ran", "scored", "settled", "accuracy"],
                    "properties": {
                        "version": {"type": "string"},
                        "ran": {"enum": ["routing", "shadow"]},
                        "scored": _COUNT,
                        "agreed": _COUNT,
                        "agreement": _RATE,
                        "settled": _COUNT,
                        "correct": _COUNT,
                        "accuracy": _RATE,
                        "active": {"type": "boolean"},
                        "in_shadow": {"type": "boolean"},
                    },
                },
            },
        },
    },
}
