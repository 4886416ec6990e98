"""The outcome state machine, without servers."""

from __future__ import annotations

import pytest

from triage.core.outcomes import (
    Actor,
    OutcomeConflict,
    OutcomeForbidden,
    OutcomeInvalid,
    transition,
)

KNOWN = frozenset({"city-housing", "city-transport"})
DEPT = Actor("department", "city-housing")
AGENT = Actor("agent")


def step(status: str, event: str, actor: Actor = DEPT, **kw: str | None) -> tuple[str, str | None]:
    t = transition(
        status=status,
        department=kw.pop("department", "city-housing"),
        event_type=event,
        actor=actor,
        known_departments=KNOWN,
        target=kw.pop("target", None),
        reason=kw.pop("reason", None),
        suggested=kw.pop("suggested", None),
    )
    return t.status, t.department


@pytest.mark.parametrize(
    ("status", "event", "to"),
    [
        ("routed", "accept", "accepted"),
        ("reassigned", "accept", "accepted"),
        ("accepted", "resolve", "resolved"),
        ("routed", "return", "returned"),
        ("accepted", "return", "returned"),
        ("reassigned", "return", "returned"),
    ],
)
def test_department_transitions(status: str, event: str, to: str) -> None:
    """A department moves its own ticket along the allowed edges."""
    assert step(status, event, reason="not ours") == (to, "city-housing")


@pytest.mark.parametrize("status", ["review", "returned", "routed", "reassigned"])
def test_agent_reassigns(status: str) -> None:
    """An agent reassigns a reviewed, returned or not-yet-accepted ticket to a new department."""
    assert step(status, "reassign", AGENT, target="city-transport") == (
        "reassigned",
        "city-transport",
    )


def test_review_ticket_without_department_can_be_reassigned() -> None:
    """A ticket in review has no department until an agent picks one."""
    assert step("review", "reassign", AGENT, department=None, target="city-housing") == (
        "reassigned",
        "city-housing",
    )


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("returned", "resolve"),
        ("routed", "resolve"),
        ("returned", "accept"),
        ("accepted", "accept"),
        ("review", "accept"),
    ],
)
def test_events_that_do_not_fit_conflict(status: str, event: str) -> None:
    """Resolving a returned ticket, accepting twice and the like are conflicts with a reason."""
    with pytest.raises(OutcomeConflict, match=f"cannot {event}"):
        step(status, event, reason="x")


def test_resolved_is_final() -> None:
    """Nothing follows a resolution, not even a reassignment."""
    with pytest.raises(OutcomeConflict, match="resolved"):
        step("resolved", "reassign", AGENT, target="city-transport")
    with pytest.raises(OutcomeConflict, match="resolved"):
        step("resolved", "return", reason="late")


def test_accepted_ticket_cannot_be_reassigned() -> None:
    """Once accepted, the department must return the ticket before an agent may move it."""
    with pytest.raises(OutcomeConflict):
        step("accepted", "reassign", AGENT, target="city-transport")


def test_reassign_to_same_department_conflicts() -> None:
    """Reassigning a routed ticket to the department that has it changes nothing: refused."""
    with pytest.raises(OutcomeConflict, match="already"):
        step("routed", "reassign", AGENT, target="city-housing")


def test_unknown_departments_are_invalid() -> None:
    """An unknown target or suggested department is a 422-kind error naming the field."""
    with pytest.raises(OutcomeInvalid) as exc:
        step("review", "reassign", AGENT, target="nowhere")
    assert exc.value.field == "department"
    with pytest.raises(OutcomeInvalid) as exc:
        step("routed", "return", reason="x", suggested="nowhere")
    assert exc.value.field == "suggested_department"


def test_return_needs_a_reason() -> None:
    """A return without a reason is invalid."""
    with pytest.raises(OutcomeInvalid, match="reason"):
        step("routed", "return", reason="  ")


def test_roles_and_ownership() -> None:
    """Agents do not accept, departments do not reassign, nor act on another's ticket."""
    with pytest.raises(OutcomeForbidden):
        step("routed", "accept", AGENT)
    with pytest.raises(OutcomeForbidden):
        step("review", "reassign", DEPT, target="city-transport")
    with pytest.raises(OutcomeForbidden):
        step("routed", "accept", Actor("department", "city-transport"))
