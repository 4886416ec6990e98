"""The departments and agents that `make run` and bench/retrain.py play from the samples."""

from __future__ import annotations

from pathlib import Path

from scripts.departments import expected_departments, plan_events
from triage.adapters.registry_file import load_registry

REGISTRY = load_registry()
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_expected_department_follows_label_and_district() -> None:
    """Every sample has a department: the district's counterpart, else the city's."""
    expected = expected_departments(REGISTRY, SAMPLES / "tickets_labels.jsonl")
    assert len(expected) == 280
    assert expected["FS-20261112-000406"] == "chancheng-education"
    assert all(code in REGISTRY for code in expected.values())


def test_right_routing_is_accepted_and_resolved() -> None:
    """A ticket routed where it belongs: accept, then resolve, by that department."""
    case, events = plan_events("T", "routed", "city-hrss", "city-hrss", REGISTRY)
    assert case == "accepted"
    assert [(e["type"], e["department"]) for e in events] == [
        ("accept", "city-hrss"),
        ("resolve", "city-hrss"),
    ]


def test_wrong_routing_is_returned_with_reason_then_reassigned() -> None:
    """A wrong department returns it naming the right one; the agent reassigns; it settles."""
    case, events = plan_events("T", "routed", "city-housing", "city-transport", REGISTRY)
    assert case == "returned"
    assert [e["type"] for e in events] == ["return", "reassign", "accept", "resolve"]
    assert events[0]["department"] == "city-housing" and "交通运输局" in events[0]["reason"]
    assert events[0]["suggested_department"] == "city-transport"
    assert [e["event_id"] for e in events] == [f"play-T-{i}" for i in range(1, 5)]


def test_review_is_reassigned_and_handled_tickets_left_alone() -> None:
    """Review tickets are reassigned to the right department; settled ones get nothing."""
    case, events = plan_events("T", "review", None, "city-health", REGISTRY)
    assert case == "reassigned from review"
    assert [e["type"] for e in events] == ["reassign", "accept", "resolve"]
    assert plan_events("T", "resolved", "city-health", "city-health", REGISTRY)[1] == []
