"""The dashboard at ``/``: static files shipped in the package, no CDN.

The page is public (it holds no data); it asks ``/v1/me`` who the pasted bearer token is and
shows that role's desk (agent, department, supervisor), reading the API with the same token,
so the same roles guard the dashboard and the API.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

__all__ = ["ASSETS", "add_routes", "missing_assets"]

# The files served, by name: nothing else under static/ is reachable, so no path tricks.
ASSETS = {
    "index.html": "text/html",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "hotspots.js": "text/javascript",
    "labels.js": "text/javascript",
    "ticket.js": "text/javascript",
    "agent_desk.js": "text/javascript",
    "department_desk.js": "text/javascript",
    # Apache ECharts, copied from npm by `make install` and by the image's Node stage (not
    # committed).
    "echarts.min.js": "text/javascript",
}
# The page runs only our own script and talks only to our own origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# What the page loads from us: every such name must be served and installed.
_LOADED = re.compile(r'(?:src|href)="/static/([^"?#]+)')


def missing_assets(static: Traversable | None = None) -> list[str]:
    """The files index.html loads that are not served, or not in ``static`` (by default the
    installed package's static folder)."""
    if static is None:
        static = resources.files("triage").joinpath("static")
    page = static.joinpath("index.html").read_text(encoding="utf-8")
    return [
        name
        for name in _LOADED.findall(page)
        if name not in ASSETS or not static.joinpath(name).is_file()
    ]


def _asset(name: str) -> web.Response:
    try:
        body = resources.files("triage").joinpath("static", name).read_bytes()
    except FileNotFoundError:
        raise web.HTTPNotFound(text=f"{name} is not installed: run make install") from None
    return web.Response(
        body=body,
        content_type=ASSETS[name],
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP},
    )


async def index(request: web.Request) -> web.Response:
    return _asset("index.html")


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound
    return _asset(name)


async def favicon(request: web.Request) -> web.Response:
    # Browsers ask for it whatever the page says; no icon, and no 404 in their console.
    return web.Response(status=204, headers={"Cache-Control": "max-age=86400"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/static/{name}", static)
