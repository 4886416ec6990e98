"""The API in process against the real servers, and a client that checks every response
against the OpenAPI document the service serves."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from streams.batch import Message, plan_batch
from streams.producer import KafkaProducer
from tests.fakes import analyzer as fake_analyzer
from tests.servers import KafkaServer, MongoServer
from tests.tickets import ticket_lines
from training.verdict import write_verdict
from triage.adapters.activation import FolderCatalog
from triage.adapters.registry_file import load_registry
from triage.core.settings import Settings
from triage.service.api import desk as desk_api
from triage.service.api import hotspots as hotspots_api
from triage.service.api import shadow as shadow_api
from triage.service.api import stats as stats_api
from triage.service.api.auth import Principal, TokenSet
from triage.service.api.openapi import document
from triage.service.app import create_app
from triage.service.keys import STORE

TOKENS = {
    "agent": "agent-token-000000000001",
    "supervisor": "supervisor-token-0000001",
    "trainer": "trainer-token-0000000001",
    "housing": "dept-housing-token-00001",
    "transport": "dept-transport-token-001",
    "environment": "dept-environment-token-1",
}
PRINCIPALS = {
    TOKENS["agent"]: Principal("agent"),
    TOKENS["supervisor"]: Principal("supervisor"),
    TOKENS["trainer"]: Principal("trainer"),
    TOKENS["housing"]: Principal("department", "city-housing"),
    TOKENS["transport"]: Principal("department", "city-transport"),
    TOKENS["environment"]: Principal("department", "city-environment"),
}
VERSIONS = ("v1", "v2", "v3")


def make_catalog(root: Path) -> FolderCatalog:
    """Model folders whose manifests look real, loaded as the fake classifier."""
    for i, version in enumerate(VERSIONS):
        folder = root / version
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "version": version,
            "created_at": f"2026-11-2{i}T00:00:00+00:00",
            "labels": ["城乡建设"],
            "thresholds": {"城乡建设": 0.5},
            "metrics": {"cv": {"macro_f1": 0.8 + i / 100, "accuracy": 0.85}},
            "data": {"sha256": "0" * 64, "n": 1000},
            "weights_sha256": str(i + 1) * 64,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
    (root / "ACTIVE").write_text("v1\n")
    return FolderCatalog(root, load=lambda path: fake_analyzer(path.name))


def weights_sha256(root: Path, version: str) -> str:
    sha: str = json.loads((root / version / "manifest.json").read_text())["weights_sha256"]
    return sha


def pass_gate(root: Path, version: str, against: str, *, passed: bool = True) -> dict[str, Any]:
    """Keep beside ``version`` a verdict of the gate against ``against`` as it is now."""
    verdict = {
        "candidate": version,
        "reference": against,
        "reference_sha256": weights_sha256(root, against),
        "passed": passed,
        "n": 460,
        "failures": [] if passed else ["holdout: 交通运输: coverage 20.0% is 46.7 points below"],
        "refused_labels": [] if passed else ["交通运输"],
        "at": "2026-12-01T00:00:00+00:00",
    }
    write_verdict(root / version, verdict)
    return verdict


class SpecChecker:
    """Validates (method, path, status, body) against the OpenAPI document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in spec["paths"]
        ]
        self.seen: set[tuple[str, str, int]] = set()

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        path = path.partition("?")[0]
        template = next((t for rx, t in self.routes if rx.match(path)), None)
        if template is None:
            # Undocumented paths answer with the documented error shape.
            assert status == 404 or status == 401, (path, status)
            self._validate(body, {"$ref": "#/components/schemas/Error"})
            return
        operation = self.spec["paths"][template].get(method.lower())
        if operation is None:
            assert status in (401, 405), (method, path, status)
            self._validate(body, {"$ref": "#/components/schemas/Error"})
            return
        response = operation["responses"].get(str(status))
        assert response is not None, f"{method} {template} answered undocumented {status}"
        self.seen.add((method.upper(), template, status))
        self._validate(body, response["content"]["application/json"]["schema"])

    def _validate(self, body: Any, schema: dict[str, Any]) -> None:
        root = {**schema, "components": self.spec["components"]}
        jsonschema.Draft202012Validator(root).validate(body)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ApiClient:
    """HTTP calls by role name; every response is checked against the spec."""

    def __init__(self, base: str, session: ClientSession, checker: SpecChecker) -> None:
        self.base, self.session, self.checker = base, session, checker

    async def call(
        self,
        method: str,
        path: str,
        role: str | None = None,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        hdrs = dict(headers or {})
        if role is not None:
            hdrs["Authorization"] = f"Bearer {TOKENS[role]}"
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.base + path, data=data, headers=hdrs) as r:
            assert r.content_type == "application/json", (path, r.status, r.content_type)
            body = await r.json()
            self.checker.check(method, path, r.status, body)
            return Reply(r.status, body, dict(r.headers))


@dataclass
class Api:
    """One test's app: its own database, topic prefix and model folder."""

    client: ApiClient
    app: web.Application
    settings: Settings
    catalog: FolderCatalog

    @property
    def store(self) -> Any:
        return self.app[STORE]

    async def seed(self, n: int) -> list[dict[str, Any]]:
        """``n`` tickets planned by the real batch code and stored by the real store."""
        lines = ticket_lines(n)
        messages = [Message("t", 0, i, None, line) for i, line in enumerate(lines)]
        plan = await plan_batch(
            messages,
            analyzer=fake_analyzer("v1"),
            registry=load_registry(),
            settings=self.settings,
        )
        await self.store.upsert_batch(plan.records)
        return [await self.store.get(r.ticket_id) for r in plan.records]


def api_settings(
    kafka: KafkaServer, mongo: MongoServer, tmp: Path | None = None, **kw: Any
) -> Settings:
    """Settings on the test servers with a fresh database and topic prefix; models from `tmp`
    when given, else the project's models folder."""
    prefix = f"api{uuid.uuid4().hex[:8]}"
    if tmp is not None:
        kw["models_dir"] = tmp
    return Settings(
        kafka_bootstrap=kafka.bootstrap,
        mongodb_uri=mongo.uri,
        db=prefix,
        topic_prefix=prefix,
        group_id=f"triage-{prefix}",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        **kw,
    )


@pytest.fixture(scope="session")
def spec_checker() -> SpecChecker:
    """The OpenAPI document the app serves, as one checker for the whole session."""
    return SpecChecker(
        document(
            {
                **stats_api.OPENAPI_PATHS,
                **hotspots_api.OPENAPI_PATHS,
                **shadow_api.OPENAPI_PATHS,
                **desk_api.OPENAPI_PATHS,
            },
            {
                **stats_api.OPENAPI_SCHEMAS,
                **hotspots_api.OPENAPI_SCHEMAS,
                **shadow_api.OPENAPI_SCHEMAS,
                **desk_api.OPENAPI_SCHEMAS,
            },
        )
    )


async def start_api(
    settings: Settings, catalog: FolderCatalog, checker: SpecChecker, *, events: bool = False
) -> AsyncIterator[Api]:
    app = create_app(
        settings,
        consumer=False,
        events=events,
        analyzer=fake_analyzer("v1"),
        catalog=catalog,
        tokens=TokenSet(PRINCIPALS),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as session:
            base = f"http://127.0.0.1:{server.port}"
            yield Api(ApiClient(base, session, checker), app, settings, catalog)
    finally:
        await server.close()


@pytest.fixture
async def api(
    kafka_server: KafkaServer, mongo_server: MongoServer, tmp_path: Path, spec_checker: SpecChecker
) -> AsyncIterator[Api]:
    """The API on a free port, with the HTTP side only (no Kafka consumers)."""
    settings = api_settings(kafka_server, mongo_server, tmp_path / "models", model_poll_ms=200)
    async for one in start_api(settings, make_catalog(tmp_path / "models"), spec_checker):
        yield one


async def publish(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap)
    await producer.start()
    try:
        from streams.producer import Outgoing

        await producer.send_all([Outgoing(topic, k, v) for k, v in values])
    finally:
        await producer.stop()
