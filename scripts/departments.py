"""Departments and agents played from the samples' own expected departments.

What `make run` and `bench/retrain.py` use so that outcomes exist: every sample ticket has an
intended label and district (`samples/tickets_labels.jsonl`), hence the department that should
handle it. Once the service has decided a ticket, this sends on `<prefix>.events`, as the
departments' and agents' own systems would:

    routed to the right department    accept, resolve
    routed to another department      return (with a reason and the right department), the
                                      agent reassigns, the right department accepts, resolves
    sent to review                    the agent reassigns, the department accepts, resolves

Event ids are derived from the ticket id, so playing a ticket twice changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from streams.codec import encode
from streams.producer import Outgoing, Producer
from triage.adapters.store import TicketStore
from triage.core.departments import Registry

__all__ = ["expected_departments", "plan_events", "play"]

REASON = "不属于本部门职责，请转{name}办理"


def expected_departments(registry: Registry, labels_file: Path) -> dict[str, str]:
    """ticket_id -> the department that should handle it, from the intended label and district."""
    out: dict[str, str] = {}
    for line in labels_file.read_text("utf-8").splitlines():
        row = json.loads(line)
        out[row["ticket_id"]] = registry.for_label(row["label"], row["district"]).code
    return out


def plan_events(
    ticket_id: str, status: str, department: str | None, expected: str, registry: Registry
) -> tuple[str, list[dict[str, Any]]]:
    """What happens to a ticket the service just decided: (what kind of case, the events)."""
    settle: list[dict[str, Any]] = [
        {"type": "accept", "department": expected},
        {"type": "resolve", "department": expected},
    ]
    moved = {"type": "reassign", "department": expected}
    if status == "routed" and department == expected:
        case, steps = "accepted", settle
    elif status == "routed" and department is not None:
        back = {
            "type": "return",
            "department": department,
            "reason": REASON.format(name=registry.department(expected).name),
            "suggested_department": expected,
        }
        case, steps = "returned", [back, moved, *settle]
    elif status == "review":
        case, steps = "reassigned from review", [moved, *settle]
    else:
        return "already handled", []
    events = [
        {"event_id": f"play-{ticket_id}-{i}", "ticket_id": ticket_id, **step}
        for i, step in enumerate(steps, start=1)
    ]
    return case, events


async def play(
    ticket_ids: Iterable[str],
    expected: Mapping[str, str],
    *,
    store: TicketStore,
    producer: Producer,
    events_topic: str,
    registry: Registry,
) -> Counter[str]:
    """Send the events for every decided ticket among ``ticket_ids``; how many of each case."""
    cases: Counter[str] = Counter()
    out: list[Outgoing] = []
    for ticket_id in ticket_ids:
        doc = await store.get(ticket_id)
        if doc is None or ticket_id not in expected:
            cases["not decided yet"] += 1
            continue
        case, events = plan_events(
            ticket_id, doc["status"], doc.get("department"), expected[ticket_id], registry
        )
        cases[case] += 1
        out += [Outgoing(events_topic, ticket_id.encode(), encode(e)) for e in events]
    if out:
        await producer.send_all(out)
    return cases
