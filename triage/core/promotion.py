"""Whether a model may be activated without force: the rule on the gate's verdicts.

A verdict counts only against the model it would replace: the one active at the moment of
activation, by version and by the sha256 of its weights. Without force, activation needs such
a verdict, and a passed one. Otherwise the refusal says why:

    never compared        no verdict at all
    another model         verdicts, none against the active version
    stale                 a verdict against the active version, but other weights (or none
                          recorded): the model was replaced under the same name
    refused               the verdict against the active model failed

Pure: the caller reads the verdicts and the active model's checksum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Judgement", "judge"]

Verdict = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict that applies (None: none does) and, when activation needs force, why."""

    verdict: Verdict | None
    reason: str | None  # "never compared", "another model", "stale", "refused" or None
    message: str | None

    @property
    def passed(self) -> bool:
        return self.reason is None


def judge(
    version: str, verdicts: Sequence[Verdict], active: str, active_sha256: str | None
) -> Judgement:
    """The judgement on activating ``version`` in place of ``active``."""
    against = [v for v in verdicts if v.get("reference") == active]
    current = [
        v
        for v in against
        if active_sha256 is not None and v.get("reference_sha256") == active_sha256
    ]
    again = f"run `triage models compare {version}` against it, or activate with force and a reason"
    if current:
        verdict = current[-1]
        if verdict.get("passed"):
            return Judgement(verdict, None, None)
        failed = "; ".join(verdict.get("failures") or []) or "no figure recorded"
        return Judgement(
            verdict,
            "refused",
            f"model {version!r} failed the comparison with the active model {active!r}: "
            f"{failed}. Activate it anyway only with force and a reason",
        )
    if against:
        return Judgement(
            against[-1],
            "stale",
            f"model {version!r} has a stale verdict: it was compared with {active!r} as it was "
            f"before (weights {str(against[-1].get('reference_sha256'))[:12]}), not with the "
            f"active {active!r} (weights {str(active_sha256)[:12]}); {again}",
        )
    if verdicts:
        others = sorted({str(v.get("reference")) for v in verdicts})
        return Judgement(
            verdicts[-1],
            "another model",
            f"model {version!r} was compared with {', '.join(others)}, not with the active "
            f"model {active!r}; {again}",
        )
    return Judgement(
        None,
        "never compared",
        f"model {version!r} was never compared with the active model {active!r}; {again}",
    )
