"""``GET /v1/departments``: the registry, with each department's routed topic and the
deadlines that apply to it (``accept_hours`` / ``resolve_hours`` are the registry entry's own,
null when it sets none; ``deadlines`` what applies after inheritance and the defaults)."""

from __future__ import annotations

from aiohttp import web

from triage.service.api.auth import ROLES, requires
from triage.service.keys import DEADLINES, REGISTRY, SETTINGS

__all__ = ["add_routes"]


@requires(*sorted(ROLES))
async def departments(request: web.Request) -> web.Response:
    registry, prefix = request.app[REGISTRY], request.app[SETTINGS].topic_prefix
    deadlines = request.app[DEADLINES]
    return web.json_response(
        {
            "city": registry.city,
            "labels": list(registry.labels),
            "districts": [
                {"code": d.code, "name": d.name, "aliases": list(d.aliases)}
                for d in registry.districts
            ],
            "departments": [
                {**d.to_json(), "deadlines": deadlines(d.code).to_json(), "topic": d.topic(prefix)}
                for d in registry.departments
            ],
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/departments", departments)
