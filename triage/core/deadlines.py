"""Statutory deadlines in working hours, on China's official calendar.

A department has a number of working hours to accept a ticket and to resolve it, counted from
when the ticket reached it (receipt, or its reassignment). Working hours are the office hours
of working days; which days work is decided by the State Council's yearly holiday notice,
weekends moved to make long holidays (调休) included, as maintained in the ``chinesecalendar``
package. For a year the package does not know yet, weekdays are working days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from triage.core.counters import LOCAL_TZ

__all__ = [
    "OFFICE_HOURS",
    "Deadlines",
    "add_working_hours",
    "calendar_version",
    "is_workday",
    "overdue_before",
]

# Government office hours in Guangdong: morning and afternoon sessions.
OFFICE_HOURS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(14), time(18)))
_MAX_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Working hours a department has to accept and to resolve a ticket."""

    accept_hours: float = 7.0
    resolve_hours: float = 35.0


def calendar_version() -> str:
    return f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip()


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    """Whether government offices work on ``day`` (holidays off, 调休 weekends on)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # A year past the package's last holiday notice: weekdays work.
        return day.weekday() < 5


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The instant ``hours`` working hours after ``start`` (aware; returned in local time)."""
    at = start.astimezone(LOCAL_TZ)
    left = timedelta(hours=hours)
    day = at.date()
    for _ in range(_MAX_DAYS):
        if is_workday(day):
            for opens, closes in OFFICE_HOURS:
                begin = datetime.combine(day, opens, LOCAL_TZ)
                end = datetime.combine(day, closes, LOCAL_TZ)
                begin = max(begin, at)
                if begin >= end:
                    continue
                if begin + left <= end:
                    return begin + left
                left -= end - begin
        day += timedelta(days=1)
        at = datetime.combine(day, time(0), LOCAL_TZ)
    return at


def overdue_before(hour_key: str, hours: float, now: datetime) -> bool:
    """Whether tickets whose clock started in the local hour ``hour_key`` (YYYY-MM-DDTHH) are
    all past a deadline of ``hours`` working hours at ``now``: the hour's end is the start
    counted, so a ticket is never called overdue early."""
    start = datetime.strptime(hour_key, "%Y-%m-%dT%H").replace(tzinfo=LOCAL_TZ)
    return _due(start + timedelta(hours=1), hours) <= now


@lru_cache(maxsize=65536)
def _due(start: datetime, hours: float) -> datetime:
    return add_working_hours(start, hours)
