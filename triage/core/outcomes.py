"""What may happen to a ticket after routing: a pure state machine over its status.

    review ──reassign──▶ reassigned          (an agent picks the department)
    routed ──accept──▶ accepted ──resolve──▶ resolved (final)
    routed ──return──▶ returned ──reassign──▶ reassigned
    accepted ──return──▶ returned
    reassigned behaves as routed, for its new department

Departments accept, return and resolve only tickets that are currently theirs; agents reassign
tickets in review, returned ones, and routed ones not yet accepted. ``transition`` raises
``OutcomeConflict`` (HTTP 409) when an event does not fit the ticket's state and
``OutcomeInvalid`` (HTTP 422) when the event itself is wrong, each with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage.core.errors import TriageError

__all__ = [
    "ACTIONS",
    "EVENT_TYPES",
    "STATUSES",
    "STATUS_LABELS",
    "Actor",
    "OutcomeConflict",
    "OutcomeError",
    "OutcomeForbidden",
    "OutcomeInvalid",
    "Transition",
    "transition",
]

STATUSES: tuple[str, ...] = ("review", "routed", "accepted", "returned", "resolved", "reassigned")
# As the hotline's staff say them, for tables and screens.
STATUS_LABELS: dict[str, str] = {
    "review": "待审核",
    "routed": "已派单",
    "accepted": "已受理",
    "returned": "已退单",
    "resolved": "已办结",
    "reassigned": "已改派",
}
EVENT_TYPES: tuple[str, ...] = ("accept", "return", "resolve", "reassign")

# event type -> (statuses it applies to, status it leads to, role allowed to send it)
ACTIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "accept": (frozenset({"routed", "reassigned"}), "accepted", "department"),
    "return": (frozenset({"routed", "reassigned", "accepted"}), "returned", "department"),
    "resolve": (frozenset({"accepted"}), "resolved", "department"),
    "reassign": (frozenset({"review", "returned", "routed", "reassigned"}), "reassigned", "agent"),
}


class OutcomeError(TriageError):
    """An event refused; ``reason`` is safe to show to the caller."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        # The refusal as remembered under the event's id, once it is (see outcome_handler),
        # and whether it was remembered before this delivery: a repeat answered from memory.
        self.refusal: dict[str, Any] | None = None
        self.repeated = False
        super().__init__(reason)


class OutcomeConflict(OutcomeError):
    """The event does not fit the ticket's current state."""


class OutcomeInvalid(OutcomeError):
    """The event names something that does not exist or lacks what it needs."""


class OutcomeForbidden(OutcomeError):
    """The actor may not send this event for this ticket."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sends an event: a role, and for departments the department they act for."""

    role: str
    department: str | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """The ticket's new status and department after an event."""

    status: str
    department: str | None
    previous_status: str
    previous_department: str | None


def transition(
    *,
    status: str,
    department: str | None,
    event_type: str,
    actor: Actor,
    known_departments: frozenset[str],
    target: str | None = None,
    reason: str | None = None,
    suggested: str | None = None,
) -> Transition:
    """The transition ``event_type`` makes from (``status``, ``department``), or raise why not."""
    if event_type not in ACTIONS:
        raise OutcomeInvalid(f"unknown event type {event_type!r}", field="type")
    sources, to, role = ACTIONS[event_type]
    if actor.role != role:
        raise OutcomeForbidden(f"a {actor.role} may not {event_type} a ticket; a {role} does")
    new_department = department
    if role == "department":
        if actor.department is None:
            raise OutcomeInvalid("a department event must name the department", field="department")
        if actor.department not in known_departments:
            raise OutcomeInvalid(f"unknown department {actor.department!r}", field="department")
        if department != actor.department:
            raise OutcomeForbidden(f"the ticket is not with department {actor.department!r}")
    if event_type == "return":
        if not reason or not reason.strip():
            raise OutcomeInvalid("a return needs a reason", field="reason")
        if suggested is not None and suggested not in known_departments:
            raise OutcomeInvalid(f"unknown department {suggested!r}", field="suggested_department")
    if event_type == "reassign":
        if target is None:
            raise OutcomeInvalid("a reassignment must name the department", field="department")
        if target not in known_departments:
            raise OutcomeInvalid(f"unknown department {target!r}", field="department")
        if status in {"routed", "reassigned"} and target == department:
            raise OutcomeConflict(f"the ticket is already with department {target!r}")
        new_department = target
    if status == "resolved":
        raise OutcomeConflict("the ticket is resolved; nothing may follow")
    if status not in sources:
        allowed = ", ".join(sorted(sources))
        raise OutcomeConflict(
            f"cannot {event_type} a ticket that is {status}; only one that is {allowed}"
        )
    return Transition(
        status=to,
        department=new_department,
        previous_status=status,
        previous_department=department,
    )
