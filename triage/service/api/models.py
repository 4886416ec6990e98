"""Model versions: list them with their metrics, activate one, roll back to the one before."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from aiohttp import web

from training.verdict import read_verdicts
from triage.adapters.activation import ActivationError, activate, rollback
from triage.adapters.model_cache import ModelStoreError
from triage.service.api.auth import requires
from triage.service.api.errors import decode_json
from triage.service.keys import CATALOG, MODEL, REGISTRY, STORE

__all__ = ["add_routes"]

_KEYS = ("created_at", "labels", "thresholds", "metrics", "data")


class ActivateIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An optional body: activate a version whose comparison failed, saying why."""

    force: bool = False
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@requires("trainer", "supervisor")
async def list_models(request: web.Request) -> web.Response:
    app = request.app
    manifests = await app[CATALOG].listing()
    running = app[MODEL].version
    history = await app[STORE].activations(20)
    versions = [
        {"version": version, **{k: m.get(k) for k in _KEYS}, "active": version == running}
        for version, m in manifests.items()
    ]
    return web.json_response(
        {
            "active": running,
            "versions": versions,
            "activations": [
                {
                    "activation": a["_id"],
                    "version": a["version"],
                    "kind": a.get("kind"),
                    "rollback_to": a.get("rollback_to"),
                    "at": _iso(a.get("at")),
                    "gate": a.get("gate"),
                    "gate_refusal": a.get("gate_refusal"),
                    "forced": a.get("forced"),
                    "reason": a.get("reason"),
                }
                for a in history
            ],
        }
    )


@requires("trainer")
async def activate_model(request: web.Request) -> web.Response:
    app = request.app
    body = ActivateIn()
    if request.can_read_body:
        body = await decode_json(request, ActivateIn)
    version = request.match_info["version"]
    try:
        # Copied from the model store first when this replica lacks it: its verdict with it.
        folder = await app[CATALOG].fetch(version)
    except ModelStoreError as exc:
        raise ActivationError(str(exc), status=422) from exc
    result = await activate(
        version,
        slot=app[MODEL],
        catalog=app[CATALOG],
        store=app[STORE],
        verdicts=read_verdicts(folder) if folder is not None else [],
        force=body.force,
        reason=body.reason,
        registry_labels=frozenset(app[REGISTRY].labels),
    )
    return web.json_response(result)


@requires("trainer")
async def rollback_model(request: web.Request) -> web.Response:
    app = request.app
    result = await rollback(slot=app[MODEL], catalog=app[CATALOG], store=app[STORE])
    return web.json_response(result)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/models", list_models)
    app.router.add_post("/v1/models/rollback", rollback_model)
    app.router.add_post("/v1/models/{version}/activate", activate_model)
