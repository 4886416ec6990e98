"""Statutory deadlines in working hours, on China's official calendar.

A department has a number of working hours to accept a ticket and to resolve it, counted from
when the ticket reached it (receipt, or its reassignment). Working hours are the office hours
of working days; which days work is decided by the State Council's yearly holiday notice,
weekends moved to make long holidays (调休) included, as maintained in the ``chinesecalendar``
package. For a year the package does not know yet, weekdays are working days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from triage.core.counters import LOCAL_TZ
from triage.core.departments import Registry
from triage.core.errors import RegistryError

__all__ = [
    "OFFICE_HOURS",
    "DeadlineTable",
    "Deadlines",
    "add_working_hours",
    "calendar_version",
    "department_deadlines",
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

    def to_json(self) -> dict[str, float]:
        return {"accept_hours": self.accept_hours, "resolve_hours": self.resolve_hours}


@dataclass(frozen=True, slots=True)
class DeadlineTable:
    """Each department's deadlines; ``default`` for the hotline's own tickets (no department)
    and for a code the registry does not hold (a department removed since)."""

    default: Deadlines
    departments: Mapping[str, Deadlines]

    def __call__(self, department: str | None) -> Deadlines:
        if department is None:
            return self.default
        return self.departments.get(department, self.default)


def department_deadlines(registry: Registry, default: Deadlines) -> DeadlineTable:
    """Each department's deadlines: the registry's ``accept_hours`` and ``resolve_hours`` (its
    own, or for a district counterpart its city department's), else ``default`` (the
    ``TRIAGE_ACCEPT_HOURS`` / ``TRIAGE_RESOLVE_HOURS`` settings). A department whose hours to
    resolve come out below its hours to accept, once the default fills in what the registry
    leaves unset, is refused, naming it (the registry's own pairs are checked when it loads, the
    default's with the settings)."""
    table: dict[str, Deadlines] = {}
    for dept in registry.departments:
        accept, resolve = registry.deadline_hours(dept.code)
        limits = Deadlines(
            default.accept_hours if accept is None else accept,
            default.resolve_hours if resolve is None else resolve,
        )
        mixed = (accept is None) != (resolve is None)
        if mixed and limits.resolve_hours < limits.accept_hours:
            note = " (the default: the registry sets none)"
            raise RegistryError(
                f"department {dept.code!r}: resolve_hours {limits.resolve_hours:g}"
                f"{note if resolve is None else ''} is less than accept_hours "
                f"{limits.accept_hours:g}{note if accept is None else ''}; set both for this "
                "department, or change TRIAGE_ACCEPT_HOURS / TRIAGE_RESOLVE_HOURS",
                source=registry.source,
                entry=dept.code,
            )
        table[dept.code] = limits
    return DeadlineTable(default, table)


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
