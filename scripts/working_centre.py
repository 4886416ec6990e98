"""A working day of a 12345 centre, played in simulated time for `make run`.

The samples are moved by whole hours so that the latest arrived half an hour ago (ids follow
their new day), then every decided ticket gets a history of its own: agents dispatch review
tickets after minutes to a day; each department accepts after its own delay (some within the
hour, slow ones after days), resolves after hours to a week, returns the tickets that are not
its own (and, the slower it is, some of its own too, asking for more information), which agents
redispatch. Events are timed within office hours and applied through the service's
own outcome handler with the time they happened; events still in the future are not applied,
so the newest tickets wait in review or in a department's queue, and slow departments have
overdue work. Delays are drawn from a generator seeded by the ticket id: a second run on the
same day changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from scripts.departments import REASON
from streams.producer import Producer
from triage.adapters.outcome_handler import EventIn, handle_event
from triage.adapters.store import MongoTicketStore
from triage.core.counters import LOCAL_TZ
from triage.core.deadlines import is_workday
from triage.core.departments import Registry
from triage.core.outcomes import Actor, OutcomeError
from triage.core.settings import Topics

__all__ = ["Step", "pace", "plan", "play_centre", "shifted_samples"]

# How long a department takes, as a multiple of the centre's usual pace: a few are quick,
# most are ordinary, some are slow enough to run over their deadlines. Slow ones also push
# back more of their own tickets.
_PACES = (0.25, 0.5, 0.8, 1.0, 1.0, 1.3, 1.8, 3.0, 5.0)
_OPENS, _CLOSES = time(8, 30), time(18, 0)
_PUSH_BACK = "诉求不明确，需补充信息：请核实具体地址后重新派单"
_ARRIVED_AGO = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Step:
    """One event of the simulation: when, by whom, what."""

    at: datetime
    ticket_id: str
    role: str
    event: dict[str, Any]


def _rng(*parts: str) -> random.Random:
    seed = int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest()[:8], "big")
    return random.Random(seed)


def pace(department: str) -> float:
    """The department's pace: the same every run."""
    return _PACES[_rng("pace", department).randrange(len(_PACES))]


def _office(at: datetime, rng: random.Random) -> datetime:
    """``at``, or the next working morning when it falls outside office hours."""
    local = at.astimezone(LOCAL_TZ)
    day = local.date()
    if is_workday(day) and _OPENS <= local.time() < _CLOSES:
        return local
    if local.time() >= _CLOSES or not is_workday(day):
        day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    start = datetime.combine(day, _OPENS, LOCAL_TZ)
    return start + timedelta(minutes=rng.uniform(0, 150))


def _after(at: datetime, hours: float, rng: random.Random) -> datetime:
    return _office(at + timedelta(hours=hours), rng)


def plan(
    ticket_id: str,
    received: datetime,
    status: str,
    department: str | None,
    expected: str,
    registry: Registry,
) -> tuple[str, list[Step]]:
    """What happens to one decided ticket, and when: (kind of case, steps in time order)."""
    rng = _rng("ticket", ticket_id)
    steps: list[Step] = []
    at = received

    def step(role: str, **event: Any) -> None:
        n = len(steps) + 1
        steps.append(Step(at, ticket_id, role, {"event_id": f"centre-{ticket_id}-{n}", **event}))

    def settle(dept: str) -> None:
        nonlocal at
        speed = pace(dept)
        at = _after(at, rng.lognormvariate(1.0, 1.0) * speed, rng)
        step("department", type="accept", department=dept)
        at = _after(at, rng.lognormvariate(3.3, 0.8) * speed, rng)
        step("department", type="resolve", department=dept)

    def dispatch() -> None:
        nonlocal at
        at = _after(at, rng.lognormvariate(2.4, 0.8), rng)
        step("agent", type="reassign", department=expected)

    if (
        status == "routed"
        and department == expected
        and rng.random() < 0.02 + 0.04 * pace(expected)
    ):
        case = "pushed back"
        at = _after(at, rng.lognormvariate(1.5, 0.9) * pace(expected), rng)
        step("department", type="return", department=expected, reason=_PUSH_BACK)
        dispatch()
        settle(expected)
    elif status == "routed" and department == expected:
        case = "accepted"
        settle(expected)
    elif status == "routed" and department is not None:
        case = "returned"
        at = _after(at, rng.lognormvariate(1.5, 0.9) * pace(department), rng)
        step(
            "department",
            type="return",
            department=department,
            reason=REASON.format(name=registry.department(expected).name),
            suggested_department=expected,
        )
        dispatch()
        settle(expected)
    elif status == "review":
        case = "reassigned from review"
        dispatch()
        settle(expected)
    else:
        return "already handled", []
    return case, steps


def shifted_samples(
    tickets: Path, labels: Path, now: datetime
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The sample tickets moved by whole hours so the latest arrived about half an hour before
    ``now``, as JSON lines, and their labels under the new ids."""
    rows = [json.loads(line) for line in tickets.read_text("utf-8").splitlines() if line]
    latest = max(datetime.fromisoformat(r["received_at"]) for r in rows)
    hours = (now - _ARRIVED_AGO - latest) // timedelta(hours=1)
    by_old = {
        json.loads(line)["ticket_id"]: json.loads(line)
        for line in labels.read_text("utf-8").splitlines()
        if line
    }
    lines, out_labels = [], {}
    for row in rows:
        at = datetime.fromisoformat(row["received_at"]) + timedelta(hours=hours)
        prefix, _, seq = row["ticket_id"].rpartition("-")
        new_id = f"{prefix.split('-')[0]}-{at.strftime('%Y%m%d')}-{seq}"
        out_labels[new_id] = {**by_old[row["ticket_id"]], "ticket_id": new_id}
        lines.append(
            json.dumps(
                {**row, "ticket_id": new_id, "received_at": at.isoformat()}, ensure_ascii=False
            )
        )
    return lines, out_labels


async def play_centre(
    expected: Mapping[str, str],
    *,
    store: MongoTicketStore,
    producer: Producer,
    registry: Registry,
    topics: Topics,
    now: datetime | None = None,
) -> Counter[str]:
    """Plays every decided ticket up to ``now``; how many of each case, and events applied."""
    now = now or datetime.now(UTC)
    cases: Counter[str] = Counter()
    steps: list[Step] = []
    for ticket_id, right in expected.items():
        doc = await store.get(ticket_id)
        if doc is None:
            cases["not decided yet"] += 1
            continue
        await _decided_on_arrival(store, doc)
        # Planned from the first decision, so a second run replays the same story (applied
        # events answer as duplicates) and applies what has come due since.
        first = (doc.get("decisions") or [{}])[0]
        case, planned = plan(
            ticket_id,
            doc["received_at"],
            str(first.get("kind", doc["status"])),
            first.get("department"),
            right,
            registry,
        )
        cases[case] += 1
        steps += planned
    for step in sorted(steps, key=lambda s: s.at):
        if step.at > now:
            cases["events still to come"] += 1
            continue
        await _apply(step, store=store, producer=producer, registry=registry, topics=topics)
        cases["events applied"] += 1
    return cases


async def _decided_on_arrival(store: MongoTicketStore, doc: dict[str, Any]) -> None:
    """The service decided the moved samples just now; in the centre being played it decided
    each as it arrived, so its first timeline entry and decision say so."""
    history = doc.get("status_history") or []
    received = doc["received_at"]
    if history and history[0]["at"] - received > timedelta(hours=1):
        at = received + timedelta(seconds=_rng("decided", doc["_id"]).uniform(2, 40))
        await store.tickets.update_one(
            {"_id": doc["_id"]}, {"$set": {"status_history.0.at": at, "decisions.0.at": at}}
        )


async def _apply(
    step: Step, *, store: MongoTicketStore, producer: Producer, registry: Registry, topics: Topics
) -> None:
    event = EventIn(**step.event)
    actor = Actor(step.role, event.department if step.role == "department" else None)
    try:
        await handle_event(
            step.ticket_id,
            event,
            actor,
            store=store,
            producer=producer,
            registry=registry,
            topics=topics,
            at=step.at.astimezone(UTC),
        )
    except OutcomeError:
        # An earlier step of this ticket did not apply (played twice, or changed by hand on
        # the page meanwhile): the rest of its story no longer fits, and is skipped.
        return


def open_work(docs: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Open tickets per department, from ``(department, status, n)`` rows."""
    out: Counter[str] = Counter()
    for row in docs:
        if row.get("department") and row.get("status") in ("routed", "reassigned", "accepted"):
            out[str(row["department"])] += int(row.get("n", 0))
    return out
