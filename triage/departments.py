"""Department registry: which department handles a model label, city-wide and per district.

The registry is data (``triage/data/foshan_departments.toml`` by default, or any TOML/YAML file
of the same shape). Loading refuses anything inconsistent, so the service never starts with a
label it cannot route. A department's Kafka topic is derived, never stored:
``f"{prefix}.routed.{code}"`` with the prefix from the settings.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

from triage.errors import RegistryError, RegistryLookupError

__all__ = [
    "SHIPPED_REGISTRY",
    "Department",
    "District",
    "Level",
    "Registry",
    "load_registry",
    "registry_from_mapping",
    "routed_topic",
]

SHIPPED_REGISTRY = "foshan_departments.toml"

Level = Literal["city", "district"]

# Codes become Kafka topic names; '_' is left out because Kafka treats '.' and '_' as colliding
# in metric names, and the length cap keeps "<prefix>.routed.<code>" under Kafka's 249 limit.
_CODE_RE = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?")
_DISTRICT_CODE_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
_TOPIC_PREFIX_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
_KAFKA_TOPIC_MAX = 249

_TOP_KEYS = frozenset({"city", "labels", "districts", "departments"})
_DISTRICT_KEYS = frozenset({"name", "aliases"})
_DEPARTMENT_KEYS = frozenset(
    {"code", "name", "level", "district", "labels", "threshold", "counterpart_of"}
)


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


# ---------------------------------------------------------------------- loading


def load_registry(path: Path | str | None = None) -> Registry:
    """Read and validate a registry file; None means the shipped Foshan registry.

    ``.toml`` is read with tomllib, ``.yaml``/``.yml`` with PyYAML (same shape).
    """
    if path is None:
        resource = resources.files("triage").joinpath("data").joinpath(SHIPPED_REGISTRY)
        source, suffix = str(resource), Path(SHIPPED_REGISTRY).suffix
        try:
            text = resource.read_text(encoding="utf-8")
        except OSError as exc:
            raise RegistryError(f"cannot read the shipped registry: {exc}", source=source) from exc
    else:
        file = Path(path)
        source, suffix = str(file), file.suffix.lower()
        if suffix not in {".toml", ".yaml", ".yml"}:
            raise RegistryError(
                f"unknown registry format {suffix or '(no suffix)'!r}; use .toml, .yaml or .yml",
                source=source,
            )
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"cannot read: {exc}", source=source) from exc
    data = _parse_yaml(text, source) if suffix in {".yaml", ".yml"} else _parse_toml(text, source)
    return registry_from_mapping(data, source=source)


def _parse_toml(text: str, source: str) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"not valid TOML: {exc}", source=source) from exc


def _parse_yaml(text: str, source: str) -> object:
    # Imported here so that TOML users and the pure core never pay for (or need) PyYAML.
    import yaml

    try:
        data: object = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"not valid YAML: {exc}", source=source) from exc
    return data


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
    return Department(
        code=code,
        name=name,
        level=level,
        district=district,
        labels=labels,
        threshold=None if threshold is None else float(threshold),
        counterpart_of=counterpart_of,
    )
