"""The shape of a department registry: a parsed TOML/YAML mapping checked into a ``Registry``.

Every refusal names the source and the entry, so a trainer who edits the registry by hand sees
at once what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from triage.core.departments import (
    DEADLINE_KEYS,
    MAX_DEADLINE_HOURS,
    Department,
    District,
    Level,
    Registry,
)
from triage.core.errors import RegistryError

__all__ = ["registry_from_mapping"]

_TOP_KEYS = frozenset({"city", "labels", "districts", "departments"})
_DISTRICT_KEYS = frozenset({"name", "aliases"})
_DEPARTMENT_KEYS = frozenset(
    {"code", "name", "level", "district", "labels", "threshold", "counterpart_of", *DEADLINE_KEYS}
)


def registry_from_mapping(data: object, *, source: str = "<registry>") -> Registry:
    """Build a Registry from parsed TOML/YAML, refusing wrong shapes with the entry named."""

    def fail(message: str, entry: str | None = None) -> RegistryError:
        return RegistryError(message, source=source, entry=entry)

    if not isinstance(data, Mapping):
        raise fail("the top level must be a table of 'labels', 'districts' and 'departments'")
    unknown = sorted(str(key) for key in data if key not in _TOP_KEYS)
    if unknown:
        raise fail(f"unknown top-level keys {unknown}; expected {sorted(_TOP_KEYS)}")

    city = data.get("city")
    if city is not None and not isinstance(city, str):
        raise fail("'city' must be a string")
    if "labels" not in data:
        raise fail("'labels' is missing: list the model's labels so departments can be checked")
    labels = _strings(data["labels"], "'labels'", fail)

    raw_districts = data.get("districts", {})
    if not isinstance(raw_districts, Mapping):
        raise fail("'districts' must be a table of district code -> {name, aliases}")
    districts = tuple(_district(code, raw, fail) for code, raw in raw_districts.items())

    raw_departments = data.get("departments")
    if not isinstance(raw_departments, list) or not raw_departments:
        raise fail("'departments' must be a non-empty list ([[departments]] tables)")
    departments = tuple(_department(index, raw, fail) for index, raw in enumerate(raw_departments))
    return Registry(
        source=source, labels=labels, departments=departments, districts=districts, city=city
    )


class _Fail(Protocol):
    def __call__(self, message: str, entry: str | None = None) -> RegistryError: ...


def _strings(value: object, what: str, fail: _Fail) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail(f"{what} must be a list of strings")
    return tuple(value)


def _district(code: object, raw: object, fail: _Fail) -> District:
    if not isinstance(code, str):
        raise fail(f"district code {code!r} must be a string")
    where = f"district {code!r}"
    if not isinstance(raw, Mapping):
        raise fail(f"{where} must be a table with 'name' and 'aliases'", entry=code)
    unknown = sorted(str(key) for key in raw if key not in _DISTRICT_KEYS)
    if unknown:
        raise fail(f"{where}: unknown keys {unknown}", entry=code)
    name = raw.get("name")
    if not isinstance(name, str):
        raise fail(f"{where}: 'name' must be a string", entry=code)
    aliases = _strings(raw.get("aliases", []), f"{where}: 'aliases'", fail)
    return District(code=code, name=name, aliases=aliases)


def _department(index: int, raw: object, fail: _Fail) -> Department:
    where = f"departments[{index}]"
    if not isinstance(raw, Mapping):
        raise fail(f"{where} must be a table")
    code = raw.get("code")
    if not isinstance(code, str):
        raise fail(f"{where}: 'code' must be a string, got {code!r}")
    where = f"{where} ({code!r})"
    unknown = sorted(str(key) for key in raw if key not in _DEPARTMENT_KEYS)
    if unknown:
        hint = (
            "; the topic is derived as <prefix>.routed.<code>, do not store it"
            if "topic" in unknown
            else ""
        )
        raise fail(f"{where}: unknown keys {unknown}{hint}", entry=code)
    name = raw.get("name")
    if not isinstance(name, str):
        raise fail(f"{where}: 'name' must be a string", entry=code)
    raw_level = raw.get("level")
    if raw_level not in ("city", "district"):
        raise fail(f"{where}: level must be 'city' or 'district', not {raw_level!r}", entry=code)
    level: Level = "city" if raw_level == "city" else "district"
    district = raw.get("district")
    if district is not None and not isinstance(district, str):
        raise fail(f"{where}: 'district' must be a district code string", entry=code)
    labels = _strings(raw.get("labels", []), f"{where}: 'labels'", fail)
    threshold = raw.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float)
    ):
        raise fail(f"{where}: bad threshold {threshold!r}; it must be a number in 0..1", entry=code)
    counterpart_of = raw.get("counterpart_of")
    if counterpart_of is not None and not isinstance(counterpart_of, str):
        raise fail(f"{where}: 'counterpart_of' must be a department code string", entry=code)
    hours: dict[str, float | None] = {}
    for key in DEADLINE_KEYS:
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise fail(
                f"{where}: bad {key} {value!r}; it must be a number of working hours above 0 "
                f"and at most {MAX_DEADLINE_HOURS}",
                entry=code,
            )
        hours[key] = None if value is None else float(value)
    return Department(
        code=code,
        name=name,
        level=level,
        district=district,
        labels=labels,
        threshold=None if threshold is None else float(threshold),
        counterpart_of=counterpart_of,
        accept_hours=hours["accept_hours"],
        resolve_hours=hours["resolve_hours"],
    )
