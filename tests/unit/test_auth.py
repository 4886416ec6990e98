"""Bearer tokens and roles, with an in-process app and in-memory tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from triage.adapters.registry_file import load_registry
from triage.core.errors import SettingsError
from triage.service.api.auth import (
    PRINCIPAL,
    Principal,
    TokenSet,
    auth_middleware,
    load_tokens,
    requires,
)
from triage.service.api.errors import error_middleware

TOKENS = TokenSet(
    {
        "agent-token-0123456789": Principal("agent"),
        "dept-token-0123456789": Principal("department", "city-housing"),
    }
)


@requires("agent")
async def agents_only(request: web.Request) -> web.Response:
    return web.json_response({"role": request[PRINCIPAL].role})


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(middlewares=[error_middleware, auth_middleware(TOKENS)])
    app.router.add_get("/v1/thing", agents_only)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_missing_and_unknown_tokens_get_401(
    client: TestClient[web.Request, web.Application],
) -> None:
    """No header, a wrong scheme and an unknown token are each a JSON 401 with a challenge."""
    for headers in ({}, {"Authorization": "Basic x"}, {"Authorization": "Bearer nope"}):
        resp = await client.get("/v1/thing", headers=headers)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_role_check(client: TestClient[web.Request, web.Application]) -> None:
    """The admitted role passes; another role gets a JSON 403 naming who may."""
    ok = await client.get("/v1/thing", headers={"Authorization": "Bearer agent-token-0123456789"})
    assert (await ok.json()) == {"role": "agent"}
    no = await client.get("/v1/thing", headers={"Authorization": "Bearer dept-token-0123456789"})
    assert no.status == 403
    assert "agent" in (await no.json())["error"]["message"]


def test_tokens_file_is_validated(tmp_path: Path) -> None:
    """A tokens file with an unknown role or department is refused, naming the entry."""
    registry = load_registry()
    good = tmp_path / "tokens.toml"
    good.write_text(
        '[[tokens]]\ntoken = "aaaaaaaaaaaaaaaaaaaa"\nrole = "trainer"\n'
        '[[tokens]]\ntoken = "bbbbbbbbbbbbbbbbbbbb"\nrole = "department"\n'
        'department = "city-housing"\n'
    )
    tokens = load_tokens(good, registry)
    assert tokens.lookup("bbbbbbbbbbbbbbbbbbbb") == Principal("department", "city-housing")
    assert tokens.lookup("cccccccccccccccccccc") is None
    for body, problem in (
        ('[[tokens]]\ntoken = "aaaaaaaaaaaaaaaaaaaa"\nrole = "root"\n', "role"),
        ('[[tokens]]\ntoken = "short"\nrole = "agent"\n', "token"),
        (
            '[[tokens]]\ntoken = "aaaaaaaaaaaaaaaaaaaa"\nrole = "department"\n'
            'department = "nowhere"\n',
            "department",
        ),
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(body)
        with pytest.raises(SettingsError, match=problem):
            load_tokens(bad, registry)


def test_no_file_means_no_tokens() -> None:
    """Without TRIAGE_TOKENS_FILE no token is known, so every /v1 request is refused."""
    assert len(load_tokens(None, load_registry())) == 0
