"""Statistics pipelines run on hand-made documents by the in-memory evaluator, then shaped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.unit import stats_pipelines as ref
from triage.adapters.store import TicketRecord, first_department, new_document, ticket_update
from triage.core import stats
from triage.core.aggregation import UnsupportedAggregation, run_pipeline
from triage.core.routing import Decision, Suggestion
from triage.core.stats import StatsQuery, StatsQueryError

Doc = dict[str, Any]
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Foshan


def ticket(
    tid: str,
    *,
    day: str = "2026-11-20",
    status: str = "routed",
    department: str | None = "fs-zjj",
    auto: bool = True,
    first: str | None = "fs-zjj",
    channel: str = "phone",
    district: str | None = "nanhai",
    label: str = "城乡建设",
    model: str = "m1",
    received_at: datetime = T0,
) -> Doc:
    return {
        "_id": tid,
        "received_day": day,
        "received_at": received_at,
        "status": status,
        "department": department,
        "auto_routed": auto,
        "first_department": first,
        "first_model_version": model,
        "channel": channel,
        "district": district,
        "label": label,
        "decisions": [{"model_version": model, "at": received_at}],
    }


def event(tid: str, kind: str, department: str, hours: float, reason: str | None = None) -> Doc:
    return {
        "event_id": f"{tid}-{kind}-{hours}",
        "ticket_id": tid,
        "type": kind,
        "department": department,
        "at": T0 + timedelta(hours=hours),
        "reason": reason,
    }


TICKETS = [
    ticket("a", status="accepted"),
    ticket("b", status="resolved", channel="web"),
    ticket("c", status="review", department=None, auto=False, first="fs-hbj", label="环境保护"),
    ticket("d", status="returned", department=None, first="fs-hbj"),
    ticket(
        "e", status="accepted", department="fs-hbj", auto=False, first="fs-zjj", day="2026-11-21"
    ),
    ticket("f", status="routed", day="2026-11-19"),
]
EVENTS = [
    event("a", "accept", "fs-zjj", 2),
    event("b", "accept", "fs-zjj", 4),
    event("b", "resolve", "fs-zjj", 10),
    event("d", "return", "fs-hbj", 1, "不属于本部门职责"),
    event("e", "return", "fs-zjj", 1, "不属于本部门职责"),
    event("e", "reassign", "fs-hbj", 2),
    event("e", "accept", "fs-hbj", 30),
]
DEAD = [
    {"_id": "1", "reason_kind": "schema", "day": "2026-11-20", "at": T0},
    {"_id": "2", "reason_kind": "schema", "day": "2026-11-20", "at": T0},
    {"_id": "3", "reason_kind": "invalid JSON", "day": "2026-11-21", "at": T0 + timedelta(days=1)},
]


def run(docs: list[Doc], pipeline: list[Doc]) -> list[Doc]:
    return run_pipeline(docs, pipeline)


def summary(q: StatsQuery) -> Doc:
    return stats.shape_summary(
        q,
        tickets=run(TICKETS, ref.summary_pipeline(q)),
        events=run(EVENTS, ref.event_count_pipeline(q)),
        reasons=run(EVENTS, ref.return_reason_pipeline(q)),
        deadletters=run(DEAD, ref.deadletter_pipeline(q)),
        models=run(TICKETS, ref.model_pipeline(q)),
        active_model="m2",
    )


def test_summary_counts_volumes_rates_and_backlog() -> None:
    """Volumes, auto-route rate, backlog and return rate come out of one grouped pass."""
    s = summary(StatsQuery())
    assert s["tickets"] == 6
    assert s["auto_routed"] == 4 and s["auto_route_rate"] == round(4 / 6, 4)
    assert s["backlog"] == {"review": 1, "returned": 1, "total": 2}
    assert s["by_status"]["accepted"] == 2 and s["by_status"]["reassigned"] == 0
    assert s["by_channel"] == [{"key": "phone", "count": 5}, {"key": "web", "count": 1}]
    assert {"key": None, "count": 2} in s["by_department"]
    assert s["events"] == {"accept": 3, "return": 2, "resolve": 1, "reassign": 1}
    assert s["return_rate"] == round(2 / 5, 4)
    assert s["top_return_reasons"] == [{"reason": "不属于本部门职责", "count": 2}]
    assert s["deadletters"]["total"] == 3
    assert s["deadletters"]["by_reason"][0] == {"key": "schema", "count": 2}
    assert s["models"] == [{"version": "m1", "decisions": 6, "last_at": "2026-11-20T01:00:00Z"}]
    assert s["active_model"] == "m2"


def test_day_range_filters_tickets_by_received_day_and_events_by_local_time() -> None:
    """from/to select tickets by local receipt day and events by when they happened."""
    q = StatsQuery(date(2026, 11, 20), date(2026, 11, 20))
    s = summary(q)
    assert s["tickets"] == 4
    # The accept 30 h after 09:00 on the 20th falls on the 21st, local time.
    assert s["events"]["accept"] == 2
    assert s["deadletters"]["total"] == 2


def test_department_filter_applies_to_tickets_and_events() -> None:
    """A department filter keeps that department's tickets and events only."""
    s = summary(StatsQuery(department="fs-hbj"))
    assert s["tickets"] == 1
    assert s["events"] == {"accept": 1, "return": 1, "resolve": 0, "reassign": 1}


def test_daily_fills_empty_days_and_splits_auto_and_review() -> None:
    """Each local day of the range gets a row, zero when nothing came in."""
    q = StatsQuery(date(2026, 11, 18), date(2026, 11, 21))
    d = stats.shape_daily(
        q,
        tickets=run(TICKETS, ref.daily_pipeline(q)),
        deadletters=run(DEAD, ref.deadletter_pipeline(q)),
    )
    assert [r["day"] for r in d["days"]] == ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
    assert d["days"][0] == {
        "day": "2026-11-18",
        "tickets": 0,
        "auto_routed": 0,
        "review": 0,
        "deadletters": 0,
    }
    assert d["days"][2] == {
        "day": "2026-11-20",
        "tickets": 4,
        "auto_routed": 3,
        "review": 1,
        "deadletters": 2,
    }


def test_departments_return_rate_hours_and_reasons() -> None:
    """Per department: events, return rate, median/p90 hours from receipt, top reasons."""
    q = StatsQuery()
    firsts = run(EVENTS, ref.first_event_pipeline(q))
    ids = sorted({r["_id"]["ticket"] for r in firsts})
    received = {r["_id"]: r["received_at"] for r in run(TICKETS, ref.received_at_pipeline(ids))}
    d = stats.shape_departments(
        q,
        tickets=run(TICKETS, ref.summary_pipeline(q)),
        events=run(EVENTS, ref.event_count_pipeline(q)),
        reasons=run(EVENTS, ref.return_reason_pipeline(q)),
        hours=ref.hours_between(firsts, received),
        names={"fs-zjj": "住建局"},
    )
    zjj, hbj = d["departments"]
    assert zjj["department"] == "fs-zjj" and zjj["name"] == "住建局"
    assert (zjj["tickets"], zjj["accepted"], zjj["returned"], zjj["resolved"]) == (3, 2, 1, 1)
    assert zjj["return_rate"] == round(1 / 3, 4)
    assert zjj["hours_to_accept"] == {"n": 2, "median": 3.0, "p90": 3.8}
    assert zjj["hours_to_resolve"] == {"n": 1, "median": 10.0, "p90": 10.0}
    assert hbj["hours_to_accept"] == {"n": 1, "median": 30.0, "p90": 30.0}
    assert hbj["reassigned_to"] == 1 and hbj["return_rate"] == 0.5
    assert hbj["top_return_reasons"] == [{"reason": "不属于本部门职责", "count": 1}]


def test_accuracy_compares_first_and_final_department_of_settled_tickets() -> None:
    """Only accepted/resolved tickets count; reviewed ones use the model's top suggestion."""
    q = StatsQuery()
    a = stats.shape_accuracy(q, run(TICKETS, ref.accuracy_pipeline(q)))
    assert (a["tickets"], a["correct"], a["accuracy"]) == (3, 2, round(2 / 3, 4))
    assert a["auto_routed"] == {"tickets": 2, "correct": 2, "accuracy": 1.0}
    assert a["reviewed"] == {"tickets": 1, "correct": 0, "accuracy": 0.0}
    assert a["by_department"][0] == {
        "department": "fs-zjj",
        "tickets": 2,
        "correct": 2,
        "accuracy": 1.0,
    }
    assert a["by_model"] == [
        {"model_version": "m1", "tickets": 3, "correct": 2, "accuracy": 0.6667}
    ]
    assert a["unknown"] == 0


def test_empty_data_gives_null_rates_not_errors() -> None:
    """With no tickets every rate is null and every list empty."""
    q = StatsQuery()
    s = stats.shape_summary(
        q, tickets=[], events=[], reasons=[], deadletters=[], models=[], active_model=None
    )
    assert s["tickets"] == 0 and s["auto_route_rate"] is None and s["return_rate"] is None
    assert stats.shape_accuracy(q, [])["accuracy"] is None
    assert stats.shape_daily(q, tickets=[], deadletters=[])["days"] == []


def test_every_pipeline_uses_portable_stages_only() -> None:
    """No pipeline needs more than $match/$group/$sort/$project/$unwind/$count."""
    q = StatsQuery(date(2026, 1, 1), date(2026, 1, 31), "fs-zjj")
    pipelines = [
        ref.summary_pipeline(q),
        ref.daily_pipeline(q),
        ref.model_pipeline(q),
        ref.deadletter_pipeline(q),
        ref.event_count_pipeline(q),
        ref.return_reason_pipeline(q),
        ref.first_event_pipeline(q),
        ref.received_at_pipeline(["x"]),
        ref.accuracy_pipeline(q),
    ]
    for pipeline in pipelines:
        for stage in pipeline:
            (name,) = stage
            assert name in ref.PORTABLE_STAGES
            if name == "$group":
                for field, acc in stage[name].items():
                    if field != "_id":
                        assert set(acc) <= ref.PORTABLE_ACCUMULATORS


def test_evaluator_refuses_operators_outside_the_subset() -> None:
    """$lookup, $facet and $percentile fail loudly instead of being ignored."""
    with pytest.raises(UnsupportedAggregation):
        run_pipeline([{"a": 1}], [{"$facet": {}}])
    with pytest.raises(UnsupportedAggregation):
        run_pipeline([{"a": 1}], [{"$group": {"_id": None, "p": {"$percentile": {}}}}])


def test_query_validation_names_the_parameter() -> None:
    """A reversed or over-long range is refused naming the parameter to fix."""
    with pytest.raises(StatsQueryError) as reversed_:
        StatsQuery(date(2026, 2, 1), date(2026, 1, 1))
    assert reversed_.value.field == "from"
    with pytest.raises(StatsQueryError) as too_long:
        StatsQuery(date(2025, 1, 1), date(2026, 1, 2))
    assert too_long.value.field == "to"


def test_percentile_interpolates_between_ranks() -> None:
    """Percentiles match numpy's default linear method."""
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([5.0], 0.9) == 5.0
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert stats.percentile([10.0, 0.0, 20.0, 30.0, 40.0], 0.9) == pytest.approx(36.0)


def test_reason_kind_drops_details() -> None:
    """Dead-letter reasons collapse to a short set of kinds for grouping and metric labels."""
    assert stats.reason_kind("schema: body is empty - at `$.body`") == "schema"
    assert stats.reason_kind("not UTF-8: invalid byte at position 3") == "not UTF-8"
    assert stats.reason_kind("body too long: 20012 characters, limit 20000") == "body too long"
    assert stats.reason_kind("empty message (no value)") == "empty message (no value)"


def _decision(kind: str, department: str | None) -> Decision:
    return Decision(
        decision_id="d1",
        ticket_id="t1",
        kind=kind,  # type: ignore[arg-type]
        department=department,
        label="环境保护",
        confidence=0.4,
        threshold=0.5,
        suggestions=(Suggestion("环境保护", 0.4, "fs-hbj"), Suggestion("城乡建设", 0.3, "fs-zjj")),
        evidence=(),
        model_version="m1",
        district=None,
    )


def test_first_routing_fields_are_stored_at_write_time() -> None:
    """A new ticket records auto_routed and its first department (top suggestion if reviewed)."""
    record = TicketRecord("t1", T0, "phone", "", "噪音", None, _decision("review", None))
    doc = new_document(*ticket_update(record, T0))
    assert doc["auto_routed"] is False
    assert doc["first_department"] == "fs-hbj"
    assert doc["first_model_version"] == "m1" and doc["first_confidence"] == 0.4
    assert first_department(_decision("routed", "fs-hbj")) == "fs-hbj"
