"""Activation over HTTP honours the gate: a failed comparison needs force and a reason."""

from __future__ import annotations

import pytest

from tests.integration.api import Api
from training.verdict import write_verdict

pytestmark = pytest.mark.integration

FAILED = {
    "candidate": "v2",
    "reference": "v1",
    "passed": False,
    "n": 460,
    "failures": ["class 交通运输: F1 0.6100 is 9.00 points below the reference's 0.7000"],
    "macro_f1": {"candidate": 0.85, "reference": 0.9, "diff": -0.05},
    "per_class": {},
    "at": "2026-11-30T00:00:00+00:00",
}


async def test_failed_comparison_is_refused_unless_forced_with_reason(api: Api) -> None:
    """409 naming the failed figure; force without a reason 422; force with one activates and
    the history records the verdict, the force and the reason."""
    write_verdict(api.catalog.root / "v2", FAILED)
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
    assert forced.body["gate_passed"] is False
    history = (await call("GET", "/v1/models", "trainer")).body["activations"]
    assert history[0]["version"] == "v2" and history[0]["forced"] is True
    assert history[0]["reason"] == "交通 labels fixed upstream"
    assert history[0]["gate"]["passed"] is False and history[0]["gate"]["against"] == "v1"


async def test_passed_or_uncompared_versions_activate_and_say_so(api: Api) -> None:
    """A version that passed is recorded as passed; one never compared as not compared."""
    write_verdict(api.catalog.root / "v3", {**FAILED, "candidate": "v3", "passed": True})
    call = api.client.call
    plain = await call("POST", "/v1/models/v2/activate", "trainer")
    assert plain.status == 200 and plain.body["gate_passed"] is None
    passed = await call("POST", "/v1/models/v3/activate", "trainer")
    assert passed.status == 200 and passed.body["gate_passed"] is True
    history = (await call("GET", "/v1/models", "trainer")).body["activations"]
    assert history[0]["gate"]["passed"] is True and history[1]["gate"] is None
