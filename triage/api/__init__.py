"""The HTTP API under ``/v1``: suggestions, tickets and outcomes, departments, models.

``add_api_routes(app)`` installs the JSON error and bearer-token middlewares, every route, and
the OpenAPI document that describes them (merging what the statistics routes contribute).
"""

from __future__ import annotations

import importlib
from typing import Any

from aiohttp import web

from triage.api.auth import TokenSet, auth_middleware
from triage.api.errors import error_middleware

__all__ = ["add_api_routes"]


def _stats_module() -> Any | None:
    # Statistics live in their own module; the API works without them while they are absent.
    try:
        return importlib.import_module("triage.api.stats")
    except ModuleNotFoundError as exc:
        if exc.name != "triage.api.stats":
            raise
        return None


def add_api_routes(app: web.Application, tokens: TokenSet) -> None:
    """Routes and middlewares of the API on ``app`` (before it starts)."""
    # Imported here: the route modules read the app's keys, and triage.app imports this package.
    from triage.api import departments, models, openapi, suggest, tickets

    app.middlewares.append(error_middleware)
    app.middlewares.append(auth_middleware(tokens))
    for module in (suggest, tickets, departments, models):
        module.add_routes(app)
    stats = _stats_module()
    extra_paths: dict[str, Any] = {}
    extra_schemas: dict[str, Any] = {}
    if stats is not None and hasattr(stats, "add_routes"):
        stats.add_routes(app)
        extra_paths = dict(getattr(stats, "OPENAPI_PATHS", {}))
        extra_schemas = dict(getattr(stats, "OPENAPI_SCHEMAS", {}))
    openapi.add_routes(app, openapi.document(extra_paths, extra_schemas))
