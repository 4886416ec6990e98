"""Bearer tokens with roles, read from ``TRIAGE_TOKENS_FILE`` (TOML)::

    [[tokens]]
    token = "a long random string"
    role = "department"          # agent | department | trainer | supervisor
    department = "fs-zjj"        # only for role "department": the code it acts for

Every ``/v1`` request needs a known token (else 401); each route names the roles it admits
(else 403). With no file configured no token is known, so every ``/v1`` request gets 401.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from triage.core.departments import Registry
from triage.core.errors import SettingsError
from triage.service.api.errors import error_response

__all__ = [
    "PRINCIPAL",
    "ROLES",
    "Principal",
    "TokenSet",
    "auth_middleware",
    "load_tokens",
    "requires",
]

ROLES = frozenset({"agent", "department", "trainer", "supervisor"})
MIN_TOKEN_CHARS = 16

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, and for a department role the department it is bound to."""

    role: str
    department: str | None = None


PRINCIPAL = web.RequestKey("principal", Principal)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenSet:
    """Known tokens, kept as digests so a memory dump does not hand them out."""

    def __init__(self, tokens: dict[str, Principal] | None = None) -> None:
        self._by_digest = {_digest(t): p for t, p in (tokens or {}).items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, token: str) -> Principal | None:
        digest = _digest(token)
        for known, principal in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None


def load_tokens(path: Path | None, registry: Registry) -> TokenSet:
    """The tokens in ``path``; refuses a file with an unknown role or department."""
    if path is None:
        return TokenSet()
    var = "TRIAGE_TOKENS_FILE"
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(var, str(path), f"cannot be read as TOML: {exc}") from exc
    entries = data.get("tokens")
    if not isinstance(entries, list):
        raise SettingsError(var, str(path), "needs [[tokens]] entries")
    codes = {d.code for d in registry.departments}
    tokens: dict[str, Principal] = {}
    for i, entry in enumerate(entries):
        where = f"tokens[{i}]"
        token, role, dept = entry.get("token"), entry.get("role"), entry.get("department")
        if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
            raise SettingsError(var, str(path), f"{where}: token must be {MIN_TOKEN_CHARS}+ chars")
        if role not in ROLES:
            raise SettingsError(var, str(path), f"{where}: role {role!r} is not one of {ROLES}")
        if role == "department" and dept not in codes:
            raise SettingsError(var, str(path), f"{where}: unknown department {dept!r}")
        if role != "department" and dept is not None:
            raise SettingsError(var, str(path), f"{where}: only a department role has one")
        if token in tokens:
            raise SettingsError(var, str(path), f"{where}: token listed twice")
        tokens[token] = Principal(str(role), dept)
    return TokenSet(tokens)


def auth_middleware(tokens: TokenSet) -> Middleware:
    challenge = {"WWW-Authenticate": 'Bearer realm="triage"'}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "send Authorization: Bearer <token>", headers=challenge)
        principal = tokens.lookup(token.strip())
        if principal is None:
            return error_response(401, "unknown token", headers=challenge)
        request[PRINCIPAL] = principal
        return await handler(request)

    return middleware


def requires(*roles: str) -> Callable[[Handler], Handler]:
    """Admit only these roles to the handler; others get 403 naming who may."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            principal = request[PRINCIPAL]
            if principal.role not in roles:
                allowed = ", ".join(roles)
                return error_response(
                    403, f"role {principal.role!r} may not do this; allowed: {allowed}"
                )
            return await handler(request)

        return checked

    return wrap
