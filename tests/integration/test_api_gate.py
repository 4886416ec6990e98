"""Activation over HTTP honours the gate: without force, a passed verdict against the model
active at that moment; otherwise 409 saying why, and force needs a reason."""

from __future__ import annotations

import pytest

from tests.integration.api import Api, pass_gate

pytestmark = pytest.mark.integration


async def test_failed_comparison_is_refused_unless_forced_with_reason(api: Api) -> None:
    """409 naming the failed figure; force without a reason 422; force with one activates and
    the history records the verdict, the force and the reason."""
    pass_gate(api.catalog.root, "v2", "v1", passed=False)
    call = api.client.call
    refused = await call("POST", "/v1/models/v2/activate", "trainer")
    assert refused.status == 409 and "交通运输" in refused.body["error"]["message"]
    bare = await call("POST", "/v1/models/v2/activate", "trainer", json_body={"force": True})
    assert bare.status == 422 and "reason" in bare.body["error"]["message"]
    wrong = await call("POST", "/v1/models/v2/activate", "trainer", json_body={"forse": True})
    assert wrong.status == 422
    forced = await call(
        "POST",
        "/v1/models/v2/activate",
        "trainer",
        json_body={"force": True, "reason": "交通 labels fixed upstream"},
    )
    assert forced.status == 200 and forced.body["forced"] is True
    assert forced.body["gate_passed"] is False and forced.body["gate_refusal"] == "refused"
    history = (await call("GET", "/v1/models", "trainer")).body["activations"]
    assert history[0]["version"] == "v2" and history[0]["forced"] is True
    assert history[0]["reason"] == "交通 labels fixed upstream"
    assert history[0]["gate"]["passed"] is False and history[0]["gate"]["against"] == "v1"
    assert history[0]["gate"]["refused_labels"] == ["交通运输"]


async def test_never_compared_model_needs_force(api: Api) -> None:
    """A version never compared is refused with 409 saying so; forced, it is recorded as not
    compared."""
    call = api.client.call
    plain = await call("POST", "/v1/models/v2/activate", "trainer")
    assert plain.status == 409 and "never compared" in plain.body["error"]["message"]
    body = {"force": True, "reason": "first model of a new registry"}
    forced = await call("POST", "/v1/models/v2/activate", "trainer", json_body=body)
    assert forced.status == 200 and forced.body["gate_passed"] is None
    history = (await call("GET", "/v1/models", "trainer")).body["activations"]
    assert history[0]["gate"] is None and history[0]["gate_refusal"] == "never compared"


async def test_verdict_against_another_model_or_stale_weights_is_refused(api: Api) -> None:
    """A pass against a model that is not the active one, or against the active version's
    earlier weights, is refused with 409 naming the reason; a pass against the active model
    as it is now activates and says so."""
    root, call = api.catalog.root, api.client.call
    pass_gate(root, "v3", "v2")
    other = await call("POST", "/v1/models/v3/activate", "trainer")
    assert (
        other.status == 409 and "not with the active model 'v1'" in other.body["error"]["message"]
    )
    stale = pass_gate(root, "v3", "v1")
    manifest = (root / "v1" / "manifest.json").read_text()
    (root / "v1" / "manifest.json").write_text(manifest.replace("1" * 64, "f" * 64))
    again = await call("POST", "/v1/models/v3/activate", "trainer")
    assert again.status == 409 and "stale" in again.body["error"]["message"]
    (root / "v1" / "manifest.json").write_text(manifest)
    assert stale["reference_sha256"] == "1" * 64
    passed = await call("POST", "/v1/models/v3/activate", "trainer")
    assert passed.status == 200 and passed.body["gate_passed"] is True
    history = (await call("GET", "/v1/models", "trainer")).body["activations"]
    assert history[0]["gate"]["passed"] is True and history[0]["gate"]["against"] == "v1"


async def test_later_comparison_with_a_weaker_model_does_not_overwrite_a_refusal(
    api: Api,
) -> None:
    """Refused against the active v1, then passed against the older v3: activation is still
    refused, because the verdict that counts is the one against v1."""
    root, call = api.catalog.root, api.client.call
    pass_gate(root, "v2", "v1", passed=False)
    pass_gate(root, "v2", "v3")
    refused = await call("POST", "/v1/models/v2/activate", "trainer")
    assert refused.status == 409 and "failed the comparison" in refused.body["error"]["message"]
