"""The rule on verdicts that decides whether a model may be activated without force."""

from __future__ import annotations

from typing import Any

from triage.core.promotion import judge

SHA = "a" * 64


def _verdict(reference: str, sha: str | None, *, passed: bool) -> dict[str, Any]:
    return {
        "candidate": "v2",
        "reference": reference,
        "reference_sha256": sha,
        "passed": passed,
        "failures": [] if passed else ["holdout: 交通运输: coverage 20.0% is 46.7 points below"],
    }


def test_passed_verdict_against_the_active_model_and_weights_activates() -> None:
    """A pass against the active version with its weights is the one case needing no force."""
    got = judge("v2", [_verdict("v1", SHA, passed=True)], "v1", SHA)
    assert got.passed and got.reason is None and got.verdict is not None


def test_each_refusal_says_why() -> None:
    """Never compared, compared with another model, stale (other weights under the same
    name, or none recorded) and refused are told apart, and the message names the models."""
    never = judge("v2", [], "v1", SHA)
    assert never.reason == "never compared" and "never compared" in (never.message or "")
    other = judge("v2", [_verdict("v0", SHA, passed=True)], "v1", SHA)
    assert other.reason == "another model" and "v0" in (other.message or "")
    stale = judge("v2", [_verdict("v1", "b" * 64, passed=True)], "v1", SHA)
    assert stale.reason == "stale" and "stale" in (stale.message or "")
    unknown = judge("v2", [_verdict("v1", None, passed=True)], "v1", SHA)
    assert unknown.reason == "stale"
    refused = judge("v2", [_verdict("v1", SHA, passed=False)], "v1", SHA)
    assert refused.reason == "refused" and "交通运输" in (refused.message or "")


def test_a_pass_against_an_older_model_does_not_hide_a_refusal() -> None:
    """A refusal against the active model stands beside a later pass against an older one."""
    verdicts = [_verdict("v1", SHA, passed=False), _verdict("v0", SHA, passed=True)]
    got = judge("v2", verdicts, "v1", SHA)
    assert got.reason == "refused" and got.verdict is verdicts[0]
