"""A model in shadow over HTTP: it scores every batch, routes nothing, and is compared."""

from __future__ import annotations

import pytest

from streams.batch import Message, plan_batch
from tests.integration.api import Api
from tests.integration.outcomes import act
from tests.tickets import ticket_lines
from triage.adapters.registry_file import load_registry
from triage.service.keys import MODEL

pytestmark = pytest.mark.integration


async def _batch(api: Api, lines: list[bytes]) -> list[dict[str, object]]:
    """A batch decided by the app's current analyzer, as the consumer decides one, stored."""
    messages = [Message("t", 0, i, None, line) for i, line in enumerate(lines)]
    plan = await plan_batch(
        messages, analyzer=api.app[MODEL].analyzer, registry=load_registry(), settings=api.settings
    )
    await api.store.upsert_batch(plan.records)
    return [await api.store.get(r.ticket_id) for r in plan.records]


async def test_shadow_scores_batches_routes_nothing_and_is_compared(api: Api) -> None:
    """While v2 is in shadow each ticket stores its label and confidence beside v1's decision,
    which alone routes; the shadow view shows agreement and settled accuracy per version;
    DELETE stops it."""
    call = api.client.call
    started = await call("POST", "/v1/models/v2/shadow", "trainer")
    assert started.status == 200 and started.body["shadow"] == "v2"
    assert (await call("POST", "/v1/models/v2/shadow", "supervisor")).status == 403
    assert (await call("POST", "/v1/models/nope/shadow", "trainer")).status == 404
    assert (await call("POST", "/v1/models/v1/shadow", "trainer")).status == 409
    lines = ticket_lines(60)
    docs = await _batch(api, lines[:40])
    for doc in docs:
        shadow = doc["shadow"]
        assert shadow["version"] == "v2" and shadow["label"] == doc["first_label"]
        assert 0 < shadow["confidence"] <= 1 and shadow["agrees"] is True
        assert all(d["model_version"] == "v1" for d in doc["decisions"])
    routed = [d for d in docs if d["status"] == "routed"][:3]
    for doc in routed:
        await act(api, doc["_id"], [("accept", None)])
    view = await call("GET", "/v1/stats/shadow", "supervisor")
    assert view.status == 200 and view.body["shadow"] == "v2" and view.body["active"] == "v1"
    rows = {(v["version"], v["ran"]): v for v in view.body["versions"]}
    assert rows[("v2", "shadow")]["scored"] == 40 and rows[("v2", "shadow")]["agreement"] == 1.0
    assert rows[("v2", "shadow")]["settled"] == 3 == rows[("v1", "routing")]["settled"]
    assert rows[("v1", "routing")]["agreement"] is None
    wrong = await call("DELETE", "/v1/models/v3/shadow", "trainer")
    assert wrong.status == 409
    stopped = await call("DELETE", "/v1/models/v2/shadow", "trainer")
    assert stopped.status == 200 and stopped.body["shadow"] is None
    later = await _batch(api, lines[40:])
    assert all("shadow" not in d for d in later)
