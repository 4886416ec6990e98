"""``GET /v1/stats/...``: how complaints were handled, for supervisors and trainers.

Every route takes the same filter: ``from`` and ``to`` (local dates, both included) and
``department`` (a registry code). Ticket figures count tickets received in the range; event
figures (accepts, returns, resolves, hours) count events that happened in it (see
triage.core.stats).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from triage.adapters.store import Grain, Parts
from triage.core import backlog_stats, counter_stats, stats_tables
from triage.core.stats import StatsQuery, StatsQueryError
from triage.service.api.auth import requires
from triage.service.api.errors import ApiError
from triage.service.api.query import local_day, readable_department, refuse_unknown
from triage.service.api.stats_export import render_csv, render_xlsx
from triage.service.api.stats_openapi import OPENAPI_PATHS, OPENAPI_SCHEMAS
from triage.service.keys import DEADLINES, MODEL, REGISTRY, STORE

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "add_routes", "parse_query"]

READERS = ("supervisor", "trainer", "department")
PARAMETERS = ("from", "to", "department", "format")
FORMATS = ("json", "csv", "xlsx")
_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def parse_query(request: web.Request) -> StatsQuery:
    """The filter of a stats request; 422 naming the parameter for anything unusable."""
    params = request.query
    refuse_unknown(params, PARAMETERS)
    if params.get("format", "json") not in FORMATS:
        raise ApiError(422, f"format must be one of {', '.join(FORMATS)}", field="format")
    department = readable_department(request, params.get("department") or None)
    if department is not None and department not in request.app[REGISTRY]:
        raise ApiError(422, f"unknown department {department!r}", field="department")
    try:
        return StatsQuery(local_day(params, "from"), local_day(params, "to"), department)
    except StatsQueryError as exc:
        raise ApiError(422, str(exc), field=exc.field) from None


async def _respond(request: web.Request, name: str, body: dict[str, Any]) -> web.Response:
    """The figures as JSON, or as a CSV or XLSX table with Chinese headers (``format``)."""
    fmt = request.query.get("format", "json")
    if fmt == "json":
        return web.json_response(body, headers={"Cache-Control": "no-store"})
    table = stats_tables.table(name, body)
    data = await asyncio.to_thread(render_csv if fmt == "csv" else render_xlsx, table)
    span = "_".join(v for v in (body["range"]["from"], body["range"]["to"]) if v) or "all"
    filename = f"stats-{name}-{body['range']['department'] or 'all'}-{span}.{fmt}"
    return web.Response(
        body=data,
        content_type=_TYPES[fmt],
        charset="utf-8" if fmt == "csv" else None,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


async def _counters(request: web.Request, q: StatsQuery, grain: Grain) -> Parts:
    """The counters the figures of ``q`` read, merged as finely as ``grain`` says they need:
    without a day range, a request reads sums kept over the whole history, not its days."""
    return await request.app[STORE].counter_parts(q, grain)


@requires(*READERS)
async def summary(request: web.Request) -> web.Response:
    """Headline figures: volumes, auto-route rate, backlog, return rate, dead letters, models."""
    q = parse_query(request)
    parts = await _counters(request, q, "department")
    active = request.app[MODEL].version if MODEL in request.app else None
    return await _respond(request, "summary", counter_stats.summary(q, parts, active))


@requires(*READERS)
async def daily(request: web.Request) -> web.Response:
    """Tickets, auto-routed, reviewed and dead letters per local day."""
    q = parse_query(request)
    parts = await _counters(request, q, "day")
    return await _respond(request, "daily", counter_stats.daily(q, parts))


@requires(*READERS)
async def departments(request: web.Request) -> web.Response:
    """Per department: volume, accepted, returned, resolved, return rate, hours, reasons."""
    q = parse_query(request)
    parts = await _counters(request, q, "department")
    names = {d.code: d.name for d in request.app[REGISTRY].departments}
    return await _respond(request, "departments", counter_stats.departments(q, parts, names))


@requires(*READERS)
async def accuracy(request: web.Request) -> web.Response:
    """First-routing accuracy of settled (accepted or resolved) tickets."""
    q = parse_query(request)
    parts = await _counters(request, q, "department")
    return await _respond(request, "accuracy", counter_stats.accuracy(q, parts))


def _names(request: web.Request) -> dict[str, str]:
    return {d.code: d.name for d in request.app[REGISTRY].departments}


@requires(*READERS)
async def backlog(request: web.Request) -> web.Response:
    """Open tickets by age and department; overdue against each department's deadlines."""
    q = parse_query(request)
    parts = await _counters(request, q, "open")
    now = datetime.now(UTC)
    body = backlog_stats.backlog(q, parts, _names(request), request.app[DEADLINES], now)
    return await _respond(request, "backlog", body)


@requires(*READERS)
async def routings(request: web.Request) -> web.Response:
    """The most frequent wrong first routings: routed to one department, settled at another."""
    q = parse_query(request)
    parts = await _counters(request, q, "department")
    pairs = {"state": counter_stats.settled_pairs(parts["state"])}
    return await _respond(request, "routings", backlog_stats.routings(q, pairs, _names(request)))


QUEUE_LIMIT = 200


@requires(*READERS)
async def queue(request: web.Request) -> web.Response:
    """A department's open tickets (at most 200 per status, oldest first) with their ages and
    statutory deadlines; a department token sees its own."""
    q = parse_query(request)
    if q.department is None:
        raise ApiError(422, "the queue is a department's: name one", field="department")
    store = request.app[STORE]
    docs = []
    for status in ("routed", "reassigned", "accepted"):
        docs += await store.list_tickets(
            department=q.department, status=status, limit=QUEUE_LIMIT, after=None
        )
    body = backlog_stats.queue(q, docs, request.app[DEADLINES], datetime.now(UTC))
    return await _respond(request, "queue", body)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/stats/summary", summary)
    app.router.add_get("/v1/stats/daily", daily)
    app.router.add_get("/v1/stats/departments", departments)
    app.router.add_get("/v1/stats/accuracy", accuracy)
    app.router.add_get("/v1/stats/backlog", backlog)
    app.router.add_get("/v1/stats/routings", routings)
    app.router.add_get("/v1/stats/queue", queue)
