"""Department registry: which department handles a model label, city-wide and per district.

The registry is data (``triage/data/foshan_departments.toml`` by default, or any TOML/YAML file
of the same shape), read by ``triage.adapters.registry_file`` and checked by
``triage.core.registry_schema``, which refuse anything inconsistent, so the service never starts
with a label it cannot route. A department's Kafka topic is derived, never stored:
``f"{prefix}.routed.{code}"`` with the prefix from the settings.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from triage.core.errors import RegistryError, RegistryLookupError

__all__ = [
    "DEADLINE_KEYS",
    "MAX_DEADLINE_HOURS",
    "Department",
    "District",
    "Level",
    "Registry",
    "routed_topic",
]

Level = Literal["city", "district"]

# Codes become Kafka topic names; '_' is left out because Kafka treats '.' and '_' as colliding
# in metric names, and the length cap keeps "<prefix>.routed.<code>" under Kafka's 249 limit.
_CODE_RE = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?")
_DISTRICT_CODE_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
_TOPIC_PREFIX_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
_KAFKA_TOPIC_MAX = 249
# Working hours a deadline may give: a year of them at most (as TRIAGE_*_HOURS).
MAX_DEADLINE_HOURS = 10_000
DEADLINE_KEYS = ("accept_hours", "resolve_hours")


@dataclass(frozen=True, slots=True)
class Department:
    """One department that can receive tickets."""

    code: str
    name: str
    level: Level
    district: str | None
    labels: tuple[str, ...]
    threshold: float | None = None
    counterpart_of: str | None = None
    # Statutory deadlines in working hours, as written in the registry; None: a district
    # counterpart takes its city department's, anyone else the service-wide default
    # (Registry.deadline_hours, triage.core.deadlines.department_deadlines).
    accept_hours: float | None = None
    resolve_hours: float | None = None

    def topic(self, prefix: str) -> str:
        """The routed topic of this department under ``prefix``."""
        return routed_topic(prefix, self.code)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "district": self.district,
            "labels": list(self.labels),
            "threshold": self.threshold,
            "counterpart_of": self.counterpart_of,
            "accept_hours": self.accept_hours,
            "resolve_hours": self.resolve_hours,
        }


@dataclass(frozen=True, slots=True)
class District:
    """A district and the words that identify it in a free-text location."""

    code: str
    name: str
    aliases: tuple[str, ...]


def routed_topic(prefix: str, code: str) -> str:
    """The topic a department consumes: ``<prefix>.routed.<code>``."""
    if not _TOPIC_PREFIX_RE.fullmatch(prefix):
        raise RegistryError(
            f"topic prefix {prefix!r} must be 1-100 ASCII letters, digits, '.', '_' or '-'"
        )
    topic = f"{prefix}.routed.{code}"
    if len(topic) > _KAFKA_TOPIC_MAX:
        raise RegistryError(f"topic {topic!r} is longer than Kafka's {_KAFKA_TOPIC_MAX} characters")
    return topic


def _good_hours(value: object) -> bool:
    # The explicit bool check: True is an int in Python and would pass as 1 hour.
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and 0 < value <= MAX_DEADLINE_HOURS
    )


def _inherited(
    dept: Department, by_code: Mapping[str, Department]
) -> tuple[float | None, float | None]:
    """A department's deadline hours, each falling back to its city counterpart's own."""
    city = by_code.get(dept.counterpart_of) if dept.counterpart_of else None
    accept, resolve = dept.accept_hours, dept.resolve_hours
    if city is not None:
        accept = city.accept_hours if accept is None else accept
        resolve = city.resolve_hours if resolve is None else resolve
    return (
        None if accept is None else float(accept),
        None if resolve is None else float(resolve),
    )


def _origin(own: float | None, dept: Department) -> str:
    """Where an inherited deadline comes from, for a message: the fix may belong there."""
    return "" if own is not None else f" (from {dept.counterpart_of!r})"


def _fold(text: str) -> str:
    # NFKC turns full-width Latin letters and digits (common in pasted addresses) into ASCII,
    # casefold lets "NANHAI" and "Nanhai" match the same alias; Chinese is unchanged by both.
    return unicodedata.normalize("NFKC", text).casefold()


_DISTRICT_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Registry:
    """A validated set of departments and districts; constructing one checks every rule."""

    source: str
    labels: tuple[str, ...]
    departments: tuple[Department, ...]
    districts: tuple[District, ...] = ()
    city: str | None = None
    _by_code: dict[str, Department] = field(init=False, repr=False, compare=False)
    _city_by_label: dict[str, Department] = field(init=False, repr=False, compare=False)
    _local_by_label: dict[tuple[str, str], Department] = field(
        init=False, repr=False, compare=False
    )
    _district_by_code: dict[str, District] = field(init=False, repr=False, compare=False)
    _aliases: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    # Locations repeat (the same estates, roads and towns); scanning every alias is not free.
    _district_cache: dict[str, str | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(sorted(self.labels)))
        self._check_labels()
        districts = self._index_districts()
        by_code = self._index_departments(districts)
        city_by_label, local_by_label = self._index_labels(by_code)
        object.__setattr__(self, "_district_by_code", districts)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_city_by_label", city_by_label)
        object.__setattr__(self, "_local_by_label", local_by_label)
        object.__setattr__(self, "_aliases", self._index_aliases())

    # ------------------------------------------------------------------ validation

    def _fail(self, message: str, entry: str | None = None) -> RegistryError:
        return RegistryError(message, source=self.source, entry=entry)

    def _check_labels(self) -> None:
        if not self.labels:
            raise self._fail("'labels' must list the model's labels; it is empty")
        seen: set[str] = set()
        for label in self.labels:
            if not label.strip():
                raise self._fail("'labels' holds an empty label", entry=label)
            if label in seen:
                raise self._fail(f"label {label!r} is listed twice in 'labels'", entry=label)
            seen.add(label)

    def _index_districts(self) -> dict[str, District]:
        districts: dict[str, District] = {}
        alias_owner: dict[str, str] = {}
        for district in self.districts:
            where = f"district {district.code!r}"
            if not _DISTRICT_CODE_RE.fullmatch(district.code):
                raise self._fail(
                    f"{where}: bad code characters; use lowercase ASCII letters, digits and '-'",
                    entry=district.code,
                )
            if district.code in districts:
                raise self._fail(f"{where}: duplicate district code", entry=district.code)
            if not district.name.strip():
                raise self._fail(f"{where}: empty name", entry=district.code)
            for alias in (district.name, *district.aliases):
                folded = _fold(alias).strip()
                if not folded:
                    raise self._fail(f"{where}: empty alias", entry=district.code)
                owner = alias_owner.setdefault(folded, district.code)
                if owner != district.code:
                    raise self._fail(
                        f"{where}: alias {alias!r} already names district {owner!r}",
                        entry=district.code,
                    )
            districts[district.code] = district
        return districts

    def _index_departments(self, districts: Mapping[str, District]) -> dict[str, Department]:
        if not self.departments:
            raise self._fail("no departments")
        known_labels = set(self.labels)
        by_code: dict[str, Department] = {}
        name_owner: dict[str, str] = {}
        for index, dept in enumerate(self.departments):
            where = f"departments[{index}] ({dept.code!r})"
            if not _CODE_RE.fullmatch(dept.code):
                raise self._fail(
                    f"{where}: bad code characters; a code is 1-64 lowercase ASCII letters, "
                    "digits, '.' and '-', starting and ending with a letter or digit",
                    entry=dept.code,
                )
            if dept.code in by_code:
                first = self.departments.index(by_code[dept.code])
                raise self._fail(
                    f"{where}: duplicate code, first used by departments[{first}]", entry=dept.code
                )
            if not dept.name.strip():
                raise self._fail(f"{where}: empty name", entry=dept.code)
            owner = name_owner.setdefault(dept.name, dept.code)
            if owner != dept.code:
                raise self._fail(
                    f"{where}: name {dept.name!r} is already used by {owner!r}", entry=dept.code
                )
            if dept.level == "city":
                if dept.district is not None:
                    raise self._fail(
                        f"{where}: a city department has no district (got {dept.district!r})",
                        entry=dept.code,
                    )
                if dept.counterpart_of is not None:
                    raise self._fail(
                        f"{where}: counterpart_of is for district departments only",
                        entry=dept.code,
                    )
            elif dept.level == "district":
                if dept.district is None:
                    raise self._fail(
                        f"{where}: a district department needs 'district'", entry=dept.code
                    )
                if dept.district not in districts:
                    raise self._fail(
                        f"{where}: unknown district {dept.district!r}; known: "
                        f"{', '.join(sorted(districts)) or 'none'}",
                        entry=dept.code,
                    )
            else:
                raise self._fail(
                    f"{where}: level must be 'city' or 'district', not {dept.level!r}",
                    entry=dept.code,
                )
            for label in dept.labels:
                if label not in known_labels:
                    raise self._fail(
                        f"{where}: unknown label {label!r}; known: {', '.join(self.labels)}",
                        entry=dept.code,
                    )
            if len(set(dept.labels)) != len(dept.labels):
                raise self._fail(f"{where}: a label is listed twice", entry=dept.code)
            threshold = dept.threshold
            # The explicit bool check: True is an int in Python and would pass as 1.0.
            if threshold is not None and (
                isinstance(threshold, bool)
                or not isinstance(threshold, int | float)
                or not 0.0 <= threshold <= 1.0
            ):
                raise self._fail(
                    f"{where}: bad threshold {threshold!r}; it must be a number in 0..1",
                    entry=dept.code,
                )
            for name in DEADLINE_KEYS:
                hours = getattr(dept, name)
                if hours is not None and not _good_hours(hours):
                    raise self._fail(
                        f"{where}: bad {name} {hours!r}; it must be a number of working hours "
                        f"above 0 and at most {MAX_DEADLINE_HOURS}",
                        entry=dept.code,
                    )
            by_code[dept.code] = dept
        for dept in self.departments:
            if dept.counterpart_of is None:
                continue
            target = by_code.get(dept.counterpart_of)
            if target is None or target.level != "city":
                raise self._fail(
                    f"department {dept.code!r}: counterpart_of {dept.counterpart_of!r} "
                    "is not a city department",
                    entry=dept.code,
                )
        for index, dept in enumerate(self.departments):
            accept, resolve = _inherited(dept, by_code)
            if accept is not None and resolve is not None and resolve < accept:
                raise self._fail(
                    f"departments[{index}] ({dept.code!r}): resolve_hours {resolve:g}"
                    f"{_origin(dept.resolve_hours, dept)} is less than accept_hours {accept:g}"
                    f"{_origin(dept.accept_hours, dept)}; a ticket cannot be due to be resolved "
                    "before it is due to be accepted",
                    entry=dept.code,
                )
        return by_code

    def _index_labels(
        self, by_code: Mapping[str, Department]
    ) -> tuple[dict[str, Department], dict[tuple[str, str], Department]]:
        city: dict[str, Department] = {}
        local: dict[tuple[str, str], Department] = {}
        for dept in by_code.values():
            for label in dept.labels:
                if dept.district is None:
                    other = city.setdefault(label, dept)
                    scope = "city"
                else:
                    other = local.setdefault((dept.district, label), dept)
                    scope = f"district {dept.district!r}"
                if other is not dept:
                    raise self._fail(
                        f"label {label!r} has two {scope} departments: "
                        f"{other.code!r} and {dept.code!r}",
                        entry=label,
                    )
        for label in self.labels:
            if label not in city:
                raise self._fail(
                    f"label {label!r} has no city department; every label needs one "
                    "to route tickets whose district is unknown",
                    entry=label,
                )
        return city, local

    def _index_aliases(self) -> tuple[tuple[str, str], ...]:
        pairs = {
            (_fold(alias).strip(), district.code)
            for district in self.districts
            for alias in (district.name, *district.aliases)
        }
        return tuple(sorted(pairs, key=lambda pair: (-len(pair[0]), pair)))

    # ------------------------------------------------------------------ lookups

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __len__(self) -> int:
        return len(self.departments)

    def get(self, code: str) -> Department | None:
        """The department with this code, or None."""
        return self._by_code.get(code)

    def department(self, code: str) -> Department:
        """The department with this code; RegistryLookupError when there is none."""
        dept = self._by_code.get(code)
        if dept is None:
            raise RegistryLookupError(
                f"unknown department code {code!r}", source=self.source, entry=code
            )
        return dept

    def district(self, code: str) -> District | None:
        return self._district_by_code.get(code)

    def deadline_hours(self, code: str) -> tuple[float | None, float | None]:
        """(accept_hours, resolve_hours) the registry gives department ``code``: its own, else
        (for a district counterpart) its city department's; None where the registry is silent
        and the service-wide default applies."""
        return _inherited(self.department(code), self._by_code)

    def city_department(self, label: str) -> Department:
        """The city department that is primary for ``label``."""
        dept = self._city_by_label.get(label)
        if dept is None:
            raise RegistryLookupError(
                f"unknown label {label!r}; known: {', '.join(self.labels)}",
                source=self.source,
                entry=label,
            )
        return dept

    def for_label(self, label: str, district: str | None = None) -> Department:
        """Who handles ``label``: the district's counterpart when it has one, else the city's."""
        primary = self.city_department(label)
        if district is None:
            return primary
        if district not in self._district_by_code:
            raise RegistryLookupError(
                f"unknown district {district!r}", source=self.source, entry=district
            )
        return self._local_by_label.get((district, label), primary)

    def resolve_district(self, location: str | None) -> str | None:
        """The district named in free text, by the longest alias found (earliest on a tie)."""
        if not location:
            return None
        cache = self._district_cache
        if location in cache:
            return cache[location]
        if len(cache) >= _DISTRICT_CACHE_SIZE:
            cache.clear()
        cache[location] = found = self._find_district(location)
        return found

    def district_in_text(self, text: str) -> str | None:
        """The one district a ticket's own words name (by any alias), when there is no location.

        Callers often say only the town ("大良", "狮山"). A text naming two districts ("从南海到
        禅城") is not guessed at: it goes to the city department, as without a district.
        """
        folded = _fold(text)
        named = {district for alias, district in self._aliases if alias in folded}
        return named.pop() if len(named) == 1 else None

    def _find_district(self, location: str) -> str | None:
        text = _fold(location)
        best: tuple[int, int, str] | None = None
        for alias, district in self._aliases:
            if best is not None and len(alias) < -best[0]:
                break  # aliases are sorted longest first; a shorter one cannot win
            position = text.find(alias)
            if position >= 0:
                candidate = (-len(alias), position, district)
                if best is None or candidate < best:
                    best = candidate
        return None if best is None else best[2]

    def topic_for(self, code: str, prefix: str) -> str:
        """The routed topic of department ``code``: ``<prefix>.routed.<code>``."""
        return self.department(code).topic(prefix)

    def topics(self, prefix: str) -> tuple[str, ...]:
        """Every routed topic, for creating them up front."""
        return tuple(dept.topic(prefix) for dept in self.departments)

    def to_json(self, prefix: str | None = None) -> list[dict[str, object]]:
        """Departments as plain dicts; with ``prefix`` each also carries its topic."""
        rows: list[dict[str, object]] = []
        for dept in self.departments:
            row = dept.to_json()
            district = self._district_by_code.get(dept.district) if dept.district else None
            row["district_name"] = district.name if district else None
            if prefix is not None:
                row["topic"] = dept.topic(prefix)
            rows.append(row)
        return rows
