"""Working-hour deadlines on China's official calendar."""

from __future__ import annotations

from datetime import date, datetime

from triage.core.backlog_stats import age_bucket
from triage.core.counters import LOCAL_TZ
from triage.core.deadlines import add_working_hours, is_workday, overdue_before


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
