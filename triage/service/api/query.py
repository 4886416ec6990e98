"""Query-string pieces the read routes share: unknown parameters, local dates, and which
department a caller may read (a department token reads its own only)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

from aiohttp import web

from triage.service.api.auth import PRINCIPAL
from triage.service.api.errors import ApiError

__all__ = ["local_day", "readable_department", "refuse_unknown"]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def refuse_unknown(params: Mapping[str, str], known: Sequence[str]) -> None:
    """422 naming the first parameter the route does not take."""
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ApiError(
            422,
            f"unknown parameter {unknown[0]!r}; known: {', '.join(known)}",
            field=unknown[0],
        )


def local_day(params: Mapping[str, str], name: str) -> date | None:
    """A ``YYYY-MM-DD`` parameter, or None when absent or empty; 422 naming it otherwise."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not _DAY.fullmatch(raw):
        raise ApiError(422, f"{name}={raw!r}: expected a date as YYYY-MM-DD", field=name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, f"{name}={raw!r}: not a calendar date", field=name) from None


def readable_department(request: web.Request, asked: str | None) -> str | None:
    """The department to filter by: a department token gets its own, 403 for another's."""
    principal = request[PRINCIPAL]
    if principal.role != "department":
        return asked
    if asked is not None and asked != principal.department:
        raise ApiError(403, f"a department token reads only {principal.department!r}")
    return principal.department
