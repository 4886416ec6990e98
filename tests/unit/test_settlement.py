"""Which department a ticket settled with, how that was learned, and the label it means."""

from __future__ import annotations

from datetime import UTC, datetime

from triage.adapters.registry_file import load_registry
from triage.core.settlement import ExportSummary, example_row, label_for, settle

REGISTRY = load_registry()


def test_first_routing_accepted_is_confirmed() -> None:
    """Routed by the model and accepted by that department: confirmed."""
    got = settle(
        status="accepted",
        department="city-housing",
        auto_routed=True,
        first_department="city-housing",
    )
    assert got is not None and (got.department, got.source) == ("city-housing", "confirmed")


def test_moved_then_accepted_elsewhere_is_corrected() -> None:
    """Routed by the model, then returned or reassigned and resolved elsewhere: corrected."""
    got = settle(
        status="resolved",
        department="city-transport",
        auto_routed=True,
        first_department="city-housing",
    )
    assert got is not None and (got.department, got.source) == ("city-transport", "corrected")


def test_agent_choice_from_review() -> None:
    """Sent to review, reassigned by an agent and accepted: from_review."""
    got = settle(
        status="accepted", department="city-health", auto_routed=False, first_department="city-hrss"
    )
    assert got is not None and got.source == "from_review"


def test_unsettled_statuses_are_left_out() -> None:
    """Routed, reassigned, returned and review tickets are not settled."""
    for status in ("routed", "reassigned", "returned", "review"):
        assert (
            settle(status=status, department="city-housing", auto_routed=True, first_department="x")
            is None
        )
    assert (
        settle(status="accepted", department=None, auto_routed=True, first_department=None) is None
    )


def test_labels_of_city_district_and_merged_departments() -> None:
    """City and district departments map to their label; a merged bureau keeps the model's
    label when it is one of its own, else the label of the city department it mirrors."""
    assert label_for(REGISTRY, "city-housing") == "城乡建设"
    assert label_for(REGISTRY, "shunde-housing") == "城乡建设"
    assert label_for(REGISTRY, "nanhai-env-transport", "交通运输") == "交通运输"
    assert label_for(REGISTRY, "nanhai-env-transport", "卫生计生") == "环境保护"


def test_department_without_label_is_null() -> None:
    """Market regulation (no label maps to it, in the city or a district) and unknown codes:
    None."""
    assert label_for(REGISTRY, "city-market") is None
    assert label_for(REGISTRY, "shunde-market") is None
    assert label_for(REGISTRY, "no-such-department") is None


def test_example_row_and_summary() -> None:
    """A settled document becomes one example with its source and settled time; the summary
    counts labels, sources and unmapped departments apart."""
    at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    doc = {
        "_id": "T-1",
        "title": "路灯",
        "body": "路灯不亮",
        "status": "accepted",
        "department": "chancheng-housing",
        "auto_routed": False,
        "first_department": "city-transport",
        "first_label": "交通运输",
        "accepted_at": at,
    }
    row = example_row(doc, REGISTRY)
    assert row == {
        "id": "T-1",
        "title": "路灯",
        "body": "路灯不亮",
        "label": "城乡建设",
        "ticket_id": "T-1",
        "department": "chancheng-housing",
        "source": "from_review",
        "settled_at": at.isoformat(),
    }
    assert example_row({**doc, "status": "returned"}, REGISTRY) is None
    summary = ExportSummary()
    summary.add(row)
    unmapped = example_row({**doc, "_id": "T-2", "department": "city-market"}, REGISTRY)
    assert unmapped is not None and unmapped["label"] is None
    summary.add(unmapped)
    assert summary.to_json() == {
        "examples": 2,
        "labels": {"城乡建设": 1},
        "sources": {"confirmed": 0, "corrected": 0, "from_review": 2},
        "unmapped": {"city-market": 1},
        "duplicates": 0,
    }
    assert any("city-market" in line for line in summary.lines())


def test_merged_bureau_label_stated_then_model_then_highest_scored() -> None:
    """A merged bureau's label is the one the agent stated, else the model's own when it is
    the bureau's, else the bureau's label the model scored highest (not a fixed default)."""
    at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    doc = {
        "_id": "T-9",
        "title": "",
        "body": "公交站台破损",
        "status": "resolved",
        "department": "nanhai-env-transport",
        "auto_routed": True,
        "first_department": "nanhai-housing",
        "first_label": "城乡建设",
        "accepted_at": at,
        "decisions": [
            {
                "top_k": [
                    {"label": "城乡建设", "probability": 0.6},
                    {"label": "环境保护", "probability": 0.1},
                    {"label": "交通运输", "probability": 0.3},
                ]
            }
        ],
    }
    row = example_row(doc, REGISTRY)
    assert row is not None and row["label"] == "交通运输"
    assigned = {"department": "nanhai-env-transport", "label": "环境保护"}
    row = example_row({**doc, "assignments": [assigned]}, REGISTRY)
    assert row is not None and row["label"] == "环境保护"
    # A label stated for another department earlier does not follow the ticket.
    earlier = {**assigned, "department": "shunde-env-transport"}
    row = example_row({**doc, "assignments": [earlier]}, REGISTRY)
    assert row is not None and row["label"] == "交通运输"
    assert (
        label_for(REGISTRY, "nanhai-env-transport", "交通运输", ranked=["环境保护"]) == "交通运输"
    )
