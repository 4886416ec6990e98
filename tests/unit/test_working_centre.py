"""The working centre `make run` plays in simulated time (scripts/working_centre.py)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from scripts.working_centre import _office, pace, plan, shifted_samples
from triage.adapters.registry_file import load_registry
from triage.core.counters import LOCAL_TZ
from triage.core.deadlines import is_workday

REGISTRY = load_registry()
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
RECEIVED = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)


def test_samples_end_before_now_with_ids_of_their_new_day() -> None:
    """Moved by whole hours: the latest arrives just before now, ids carry the new day, labels
    follow."""
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    tickets, labelled = SAMPLES / "tickets.jsonl", SAMPLES / "tickets_labels.jsonl"
    lines, labels = shifted_samples(tickets, labelled, now)
    rows = [json.loads(line) for line in lines]
    latest = max(datetime.fromisoformat(r["received_at"]) for r in rows)
    assert now - timedelta(minutes=90) < latest <= now - timedelta(minutes=30)
    day = datetime.fromisoformat(rows[0]["received_at"]).strftime("%Y%m%d")
    assert rows[0]["ticket_id"].split("-")[1] == day
    assert set(labels) == {r["ticket_id"] for r in rows} and len(rows) == 280


def test_events_happen_in_office_hours_in_order() -> None:
    """Every planned event falls in office hours on a working day, after the one before."""
    case, steps = plan("T-1", RECEIVED, "routed", "city-housing", "city-transport", REGISTRY)
    assert case == "returned"
    assert [s.event["type"] for s in steps] == ["return", "reassign", "accept", "resolve"]
    assert [s.role for s in steps] == ["department", "agent", "department", "department"]
    times = [RECEIVED, *(s.at for s in steps)]
    assert times == sorted(times)
    for s in steps:
        local = s.at.astimezone(LOCAL_TZ)
        assert is_workday(local.date()) and 8 <= local.hour < 18


def test_departments_keep_their_own_pace_and_plans_repeat() -> None:
    """Paces differ between departments and stay the same; a ticket's plan is the same twice."""
    assert len({pace(d.code) for d in REGISTRY.departments}) >= 4
    first = plan("T-2", RECEIVED, "review", None, "city-health", REGISTRY)
    assert first == plan("T-2", RECEIVED, "review", None, "city-health", REGISTRY)
    assert first[0] == "reassigned from review"
    settled = plan("T-3", RECEIVED, "resolved", "x", "city-health", REGISTRY)
    assert settled == ("already handled", [])


def test_night_events_move_to_the_next_working_morning() -> None:
    """An event due at night or on a weekend happens the next working morning."""
    saturday_night = datetime(2026, 11, 21, 22, 0, tzinfo=LOCAL_TZ)
    moved = _office(saturday_night, random.Random(1))
    assert moved.date() == date(2026, 11, 23) and moved.hour >= 8
