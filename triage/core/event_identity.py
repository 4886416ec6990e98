"""When two events sent under one ``event_id`` are the same event: their canonical fields.

An event is its ticket, its type, who sends it (role and department), the department a
reassignment names, the reason and suggested department it carries, and the label an agent
states. How it travelled (HTTP or Kafka, whether the department sent its own code or left it
to its token) and when it arrived are not part of it, so a retry or a redelivery compares
equal and anything else under the same id does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triage.core.outcomes import Actor

__all__ = ["Canonical", "canonical", "canonical_of_record"]

Canonical = dict[str, str | None]


def canonical(
    *,
    ticket_id: str,
    event_type: str,
    actor: Actor,
    target: str | None,
    reason: str | None,
    suggested: str | None,
    label: str | None = None,
) -> Canonical:
    """The fields that make an event what it is (``target``: the department sent with it;
    ``label``: the label an agent stated for a merged bureau, present only when stated)."""
    body: Canonical = {
        "ticket_id": ticket_id,
        "type": event_type,
        "role": actor.role,
        "actor_department": actor.department,
        # Only a reassignment names a department of its own; the others name their sender.
        "target": target if event_type == "reassign" else None,
        "reason": reason,
        "suggested_department": suggested,
    }
    if label is not None:
        body["label"] = label
    return body


def canonical_of_record(record: Mapping[str, Any]) -> Canonical:
    """The canonical fields of a stored applied event (its ``department`` is where it left
    the ticket: a reassignment's target)."""
    return canonical(
        ticket_id=record["ticket_id"],
        event_type=record["type"],
        actor=Actor(record.get("role") or "", record.get("actor_department")),
        target=record.get("department"),
        reason=record.get("reason"),
        suggested=record.get("suggested_department"),
        label=record.get("label"),
    )
