"""Working-hour deadlines on China's official calendar, per department."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from triage.core.backlog_stats import age_bucket, backlog, queue
from triage.core.counters import LOCAL_TZ
from triage.core.deadlines import (
    Deadlines,
    DeadlineTable,
    add_working_hours,
    department_deadlines,
    is_workday,
    overdue_before,
)
from triage.core.errors import RegistryError
from triage.core.registry_schema import registry_from_mapping
from triage.core.stats import StatsQuery


def test_holidays_and_adjusted_working_days_come_from_the_calendar() -> None:
    """National Day is off; the Saturday moved to make it long (调休) is a working day."""
    assert not is_workday(date(2026, 10, 1))
    assert is_workday(date(2026, 10, 10))  # a Saturday worked in exchange
    assert not is_workday(date(2026, 11, 28))  # an ordinary Saturday
    assert is_workday(date(2031, 3, 3)) and not is_workday(date(2031, 3, 1))  # beyond it


def test_working_hours_skip_nights_lunch_weekends_and_holidays() -> None:
    """7 working hours from 16:00 on 30 September end on 8 October, after National Day."""
    start = datetime(2026, 9, 30, 16, 0, tzinfo=LOCAL_TZ)
    assert add_working_hours(start, 7) == datetime(2026, 10, 8, 16, 0, tzinfo=LOCAL_TZ)
    friday = datetime(2026, 11, 27, 11, 30, tzinfo=LOCAL_TZ)
    assert add_working_hours(friday, 1) == datetime(2026, 11, 27, 14, 30, tzinfo=LOCAL_TZ)
    assert add_working_hours(friday, 6) == datetime(2026, 11, 30, 10, 30, tzinfo=LOCAL_TZ)


def test_an_hour_is_overdue_only_once_its_last_ticket_is() -> None:
    """Tickets that arrived 09:00-10:00 with 7 hours are late after 10:00 the next workday."""
    assert not overdue_before("2026-11-26T09", 7, datetime(2026, 11, 27, 9, 59, tzinfo=LOCAL_TZ))
    assert overdue_before("2026-11-26T09", 7, datetime(2026, 11, 27, 10, 0, tzinfo=LOCAL_TZ))


def test_age_buckets_count_whole_local_days() -> None:
    """Received today is 0-1d; three days ago is 3-7d; a month ago 30d+."""
    today = date(2026, 12, 1)
    assert age_bucket("2026-12-01", today) == "0-1d"
    assert age_bucket("2026-11-28", today) == "3-7d"
    assert age_bucket("2026-10-31", today) == "30d+"


# ---------------------------------------------------------------------- per department

# A city department with quick deadlines, its district counterpart (inheriting them), one
# that sets only accept_hours, and one that leaves both to the default.
REGISTRY = {
    "labels": ["水务", "其他"],
    "districts": {"east": {"name": "东区", "aliases": []}},
    "departments": [
        {"code": "water", "name": "市水务局", "level": "city", "labels": ["水务"]}
        | {"accept_hours": 2, "resolve_hours": 14},
        {"code": "other", "name": "市其他局", "level": "city", "labels": ["其他"]},
        {"code": "east-water", "name": "东区水务局", "level": "district", "district": "east"}
        | {"labels": ["水务"], "counterpart_of": "water"},
        {"code": "quick", "name": "市快办局", "level": "city", "accept_hours": 4},
    ],
}
DEFAULT = Deadlines(7.0, 35.0)


def table() -> DeadlineTable:
    return department_deadlines(registry_from_mapping(REGISTRY, source="test"), DEFAULT)


def test_each_department_gets_its_own_deadlines_else_the_default() -> None:
    """Own values, a counterpart's inherited ones, the default key by key, and the default for
    the hotline's own tickets and for a department no longer in the registry."""
    limits = table()
    assert limits("water") == Deadlines(2.0, 14.0)
    assert limits("east-water") == Deadlines(2.0, 14.0)
    assert limits("quick") == Deadlines(4.0, 35.0)
    assert limits("other") == limits(None) == limits("gone") == DEFAULT


def test_a_default_below_a_departments_own_value_is_refused_naming_it() -> None:
    """accept_hours 40 with the default 35 hours to resolve cannot work: the department is named
    and the default pointed at."""
    registry = registry_from_mapping(REGISTRY, source="test")
    with pytest.raises(RegistryError) as caught:
        department_deadlines(registry, Deadlines(7.0, 3.0))
    assert caught.value.entry == "quick"
    message = str(caught.value)
    assert "'quick'" in message and "resolve_hours 3 (the default" in message
    assert "TRIAGE_RESOLVE_HOURS" in message


def test_departments_deadlines_run_across_a_weekend() -> None:
    """From Friday 27 November 17:00, two working hours end on Monday at 10:00 for the water
    bureau, seven at 17:00 for a department on the default."""
    friday = datetime(2026, 11, 27, 17, 0, tzinfo=LOCAL_TZ)
    limits = table()
    assert add_working_hours(friday, limits("water").accept_hours) == datetime(
        2026, 11, 30, 10, 0, tzinfo=LOCAL_TZ
    )
    assert add_working_hours(friday, limits("other").accept_hours) == datetime(
        2026, 11, 30, 17, 0, tzinfo=LOCAL_TZ
    )


def test_departments_deadlines_run_across_a_holiday_and_an_adjusted_working_day() -> None:
    """Before National Day the water bureau's two hours end the same evening while the default
    seven wait for 8 October; on Friday 9 October both run into Saturday 10 October, a working
    day in exchange for the holiday (调休), and fourteen hours skip the Sunday after it."""
    limits = table()
    eve = datetime(2026, 9, 30, 16, 0, tzinfo=LOCAL_TZ)
    assert add_working_hours(eve, limits("water").accept_hours) == datetime(
        2026, 9, 30, 18, 0, tzinfo=LOCAL_TZ
    )
    assert add_working_hours(eve, limits("other").accept_hours) == datetime(
        2026, 10, 8, 16, 0, tzinfo=LOCAL_TZ
    )
    friday = datetime(2026, 10, 9, 17, 0, tzinfo=LOCAL_TZ)
    assert add_working_hours(friday, limits("east-water").accept_hours) == datetime(
        2026, 10, 10, 10, 0, tzinfo=LOCAL_TZ
    )
    assert add_working_hours(friday, limits("quick").accept_hours) == datetime(
        2026, 10, 10, 12, 0, tzinfo=LOCAL_TZ
    )
    assert add_working_hours(friday, limits("water").resolve_hours) == datetime(
        2026, 10, 12, 17, 0, tzinfo=LOCAL_TZ
    )


def _state(department: str, acc: dict[str, int], res: dict[str, int]) -> dict[str, Any]:
    """A department's counter document of 9 October: open tickets by the hour their clock
    started, waiting to be accepted (routed) and to be resolved (accepted)."""
    status = {"routed": sum(acc.values()), "accepted": sum(res.values())}
    return {
        "day": "2026-10-09",
        "department": department,
        "status": status,
        "acc_open": acc,
        "res_open": res,
    }


def test_backlog_counts_overdue_against_each_departments_deadlines() -> None:
    """Tickets that reached the water bureau and a default department in the same hour, read on
    Saturday 10 October (调休) at 11:00: only the water bureau's are late to be accepted."""
    hour = "2026-10-09T16"  # counted from 17:00, so never called late early
    parts = {
        "state": [
            _state("water", {hour: 2}, {hour: 1}),
            _state("other", {hour: 3}, {hour: 1}),
        ]
    }
    now = datetime(2026, 10, 10, 11, 0, tzinfo=LOCAL_TZ)
    body = backlog(StatsQuery(), parts, {}, table(), now)
    rows = {r["department"]: r for r in body["departments"]}
    assert (rows["water"]["overdue_accept"], rows["other"]["overdue_accept"]) == (2, 0)
    assert (rows["water"]["accept_hours"], rows["other"]["accept_hours"]) == (2.0, 7.0)
    assert body["overdue_accept"] == 2 and body["overdue_resolve"] == 0
    assert body["deadlines"] == {"accept_hours": 7.0, "resolve_hours": 35.0}
    # Monday 12 October 18:00: the water bureau's fourteen hours to resolve have passed too.
    later = backlog(StatsQuery(), parts, {}, table(), datetime(2026, 10, 12, 18, tzinfo=LOCAL_TZ))
    rows = {r["department"]: r for r in later["departments"]}
    assert (rows["water"]["overdue_resolve"], rows["other"]["overdue_resolve"]) == (1, 0)
    assert (rows["water"]["overdue_accept"], rows["other"]["overdue_accept"]) == (2, 3)
    one = backlog(StatsQuery(department="water"), parts, {}, table(), now)
    assert one["deadlines"] == {"accept_hours": 2.0, "resolve_hours": 14.0}


def test_queue_deadlines_are_the_tickets_departments() -> None:
    """A queue's tickets are due by their department's hours, and the queue says which apply."""
    started = datetime(2026, 10, 9, 17, 0, tzinfo=LOCAL_TZ)
    docs = [
        {"_id": "w1", "status": "routed", "department": "water", "received_at": started},
        {"_id": "w2", "status": "accepted", "department": "water", "received_at": started},
    ]
    now = datetime(2026, 10, 10, 11, 0, tzinfo=LOCAL_TZ)
    body = queue(StatsQuery(department="water"), docs, table(), now)
    assert body["deadlines"] == {"accept_hours": 2.0, "resolve_hours": 14.0}
    due = {t["ticket_id"]: (t["due"], t["overdue"]) for t in body["tickets"]}
    assert due == {
        "w1": ("2026-10-10T10:00:00+08:00", True),
        "w2": ("2026-10-12T17:00:00+08:00", False),
    }
    other = queue(
        StatsQuery(department="other"), [{**docs[0], "department": "other"}], table(), now
    )
    assert other["tickets"][0]["due"] == "2026-10-10T17:00:00+08:00"
    assert other["deadlines"] == {"accept_hours": 7.0, "resolve_hours": 35.0}
