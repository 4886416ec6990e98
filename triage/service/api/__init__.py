"""The HTTP API under ``/v1``: suggestions, tickets and outcomes, departments, models,
statistics, hot spots.

``add_api_routes(app)`` installs the JSON error and bearer-token middlewares, every route, and
the OpenAPI document that describes them (merging what the statistics routes contribute).
"""

from __future__ import annotations

from aiohttp import web

from triage.service.api import (
    departments,
    desk,
    hotspots,
    models,
    openapi,
    shadow,
    stats,
    suggest,
    tickets,
)
from triage.service.api.auth import TokenSet, auth_middleware
from triage.service.api.errors import error_middleware

__all__ = ["add_api_routes"]


def add_api_routes(app: web.Application, tokens: TokenSet) -> None:
    """Routes and middlewares of the API on ``app`` (before it starts)."""
    app.middlewares.append(error_middleware)
    app.middlewares.append(auth_middleware(tokens))
    for module in (suggest, tickets, departments, desk, models, stats, hotspots, shadow):
        module.add_routes(app)
    spec = openapi.document(
        {
            **stats.OPENAPI_PATHS,
            **hotspots.OPENAPI_PATHS,
            **shadow.OPENAPI_PATHS,
            **desk.OPENAPI_PATHS,
        },
        {
            **stats.OPENAPI_SCHEMAS,
            **hotspots.OPENAPI_SCHEMAS,
            **shadow.OPENAPI_SCHEMAS,
            **desk.OPENAPI_SCHEMAS,
        },
    )
    openapi.add_routes(app, spec)
