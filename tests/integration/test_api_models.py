"""Model listing, activation, rollback and the hot swap across replicas."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.api import (
    Api,
    SpecChecker,
    api_settings,
    pass_gate,
    start_api,
)
from tests.servers import KafkaServer, MongoServer
from triage.service.keys import MODEL

pytestmark = pytest.mark.integration

TEXT = {"body": "小区路灯坏了，物业不管"}


async def _version_used(api: Api) -> str:
    r = await api.client.call("POST", "/v1/suggest", "agent", json_body=TEXT)
    version: str = r.body["model_version"]
    return version


async def test_models_listed_with_metrics(api: Api) -> None:
    """Trainers and supervisors see every version with its metrics and which one is active."""
    for role in ("trainer", "supervisor"):
        r = await api.client.call("GET", "/v1/models", role)
        assert r.status == 200
        assert [v["version"] for v in r.body["versions"]] == ["v1", "v2", "v3"]
        assert r.body["active"] == "v1"
        assert r.body["versions"][1]["metrics"]["cv"]["macro_f1"] == 0.81
    for role in ("agent", "housing"):
        assert (await api.client.call("GET", "/v1/models", role)).status == 403


async def test_activate_and_roll_back(api: Api) -> None:
    """Activation swaps the model at once and writes ACTIVE; rollbacks walk back the history."""
    call = api.client.call
    pass_gate(api.catalog.root, "v2", "v1")
    pass_gate(api.catalog.root, "v3", "v2")
    r = await call("POST", "/v1/models/v2/activate", "trainer")
    assert (r.status, r.body["active"], r.body["previous"]) == (200, "v2", "v1")
    assert await _version_used(api) == "v2"
    assert (api.catalog.root / "ACTIVE").read_text().strip() == "v2"
    assert (await call("POST", "/v1/models/v3/activate", "trainer")).body["active"] == "v3"
    again = await call("POST", "/v1/models/v3/activate", "trainer")
    assert again.status == 409
    assert (await call("POST", "/v1/models/rollback", "trainer")).body["active"] == "v2"
    assert (await call("POST", "/v1/models/rollback", "trainer")).body["active"] == "v1"
    assert await _version_used(api) == "v1"
    nothing = await call("POST", "/v1/models/rollback", "trainer")
    assert nothing.status == 409
    listed = await call("GET", "/v1/models", "trainer")
    assert [a["version"] for a in listed.body["activations"]] == ["v1", "v2", "v3", "v2", "v1"]


async def test_activation_refusals(api: Api) -> None:
    """Unknown versions 404, unloadable ones 422, other roles 403."""
    call = api.client.call
    assert (await call("POST", "/v1/models/v9/activate", "trainer")).status == 404
    assert (await call("POST", "/v1/models/..%2Fx/activate", "trainer")).status == 404
    assert (await call("POST", "/v1/models/v2/activate", "supervisor")).status == 403
    assert (await call("POST", "/v1/models/rollback", "agent")).status == 403
    broken = api.catalog.root / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}")

    def refuse(path: Path) -> object:
        from triage.adapters.artifact import ArtifactError

        raise ArtifactError(path, "weights.npz is missing")

    api.catalog.load = refuse  # type: ignore[assignment]
    forced = {"force": True, "reason": "checked by hand"}
    r = await call("POST", "/v1/models/broken/activate", "trainer", json_body=forced)
    assert r.status == 422
    assert "weights.npz" in r.body["error"]["message"]
    assert api.app[MODEL].version == "v1"


async def test_second_replica_follows_activation(
    api: Api,
    kafka_server: KafkaServer,
    mongo_server: MongoServer,
    tmp_path: Path,
    spec_checker: SpecChecker,
) -> None:
    """A second replica on the same database swaps to the activated model within a poll."""
    settings = api_settings(kafka_server, mongo_server, api.catalog.root, model_poll_ms=200)
    settings = type(settings)(
        **{**{f: getattr(settings, f) for f in settings.__slots__}, "db": api.settings.db}
    )
    async for other in start_api(settings, api.catalog, spec_checker):
        assert await _version_used(other) == "v1"
        pass_gate(api.catalog.root, "v3", "v1")
        await api.client.call("POST", "/v1/models/v3/activate", "trainer")
        for _ in range(50):
            if await _version_used(other) == "v3":
                break
            await asyncio.sleep(0.1)
        assert await _version_used(other) == "v3"
