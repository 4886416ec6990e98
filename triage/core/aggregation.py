"""The portable subset of MongoDB aggregation, evaluated in memory.

The in-memory store runs the statistics pipelines with it, so unit tests check real figures
without a server; and since it refuses every stage, accumulator and operator outside the subset
that MongoDB-compatible servers all share, a pipeline that runs here is a portable one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from triage.core.errors import TriageError

__all__ = ["UnsupportedAggregation", "run_pipeline"]

Doc = dict[str, Any]
_MISSING = object()
_COMPARE = {
    "$gte": lambda a, b: a >= b,
    "$gt": lambda a, b: a > b,
    "$lte": lambda a, b: a <= b,
    "$lt": lambda a, b: a < b,
}


class UnsupportedAggregation(TriageError):
    """A pipeline used something outside the portable subset; ``name`` is what."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"not in the portable aggregation subset: {name}")


def _get(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    for path, cond in query.items():
        value = _get(doc, path)
        if isinstance(cond, Mapping) and cond and all(str(k).startswith("$") for k in cond):
            if not all(_test(op, value, arg) for op, arg in cond.items()):
                return False
        elif (None if value is _MISSING else value) != cond:
            return False
    return True


def _test(op: str, value: Any, arg: Any) -> bool:
    if op == "$exists":
        return (value is not _MISSING) == bool(arg)
    present = None if value is _MISSING else value
    if op == "$eq":
        return bool(present == arg)
    if op == "$ne":
        return bool(present != arg)
    if op == "$in":
        return present in arg
    if op in _COMPARE:
        if present is None or arg is None:
            return False
        try:
            return bool(_COMPARE[op](present, arg))
        except TypeError:  # MongoDB compares across types by type order; never true here
            return False
    raise UnsupportedAggregation(op)


def _expr(doc: Mapping[str, Any], expr: Any) -> Any:
    if isinstance(expr, str) and expr.startswith("$"):
        return _get(doc, expr[1:])
    if isinstance(expr, Mapping):
        out = {}
        for key, sub in expr.items():
            if str(key).startswith("$"):
                raise UnsupportedAggregation(key)
            value = _expr(doc, sub)
            if value is not _MISSING:
                out[key] = value
        return out
    return expr


def _group(docs: Iterable[Doc], spec: Mapping[str, Any]) -> list[Doc]:
    groups: dict[str, Doc] = {}
    for doc in docs:
        key = _expr(doc, spec["_id"])
        key = None if key is _MISSING else key
        slot = groups.setdefault(repr(key), {"_id": key})
        for name, acc in spec.items():
            if name == "_id":
                continue
            ((op, arg),) = acc.items()
            value = _expr(doc, arg)
            _accumulate(slot, name, op, None if value is _MISSING else value)
    return list(groups.values())


def _accumulate(slot: Doc, name: str, op: str, value: Any) -> None:
    if op == "$sum":
        slot[name] = slot.get(name, 0) + (value if isinstance(value, int | float) else 0)
    elif op == "$first":
        slot.setdefault(name, value)
    elif op in ("$min", "$max"):
        current = slot.get(name)
        if value is None:
            slot.setdefault(name, None)
        elif current is None or (value < current if op == "$min" else value > current):
            slot[name] = value
    else:
        raise UnsupportedAggregation(op)


def _project(doc: Doc, spec: Mapping[str, Any]) -> Doc:
    rules = [rule for key, rule in spec.items() if key != "_id"]
    if rules and all(rule in (0, False) for rule in rules):
        # Exclusion: top-level fields only, as the counters use it.
        return {k: v for k, v in doc.items() if spec.get(k, 1) not in (0, False)}
    out: Doc = {}
    if spec.get("_id", 1) and "_id" in doc:
        out["_id"] = doc["_id"]
    for key, rule in spec.items():
        if key == "_id":
            continue
        value = _get(doc, key) if rule in (1, True) else _expr(doc, rule)
        if value is not _MISSING:
            out[key] = value
    return out


def _unwind(docs: Iterable[Doc], path: str) -> list[Doc]:
    field = path.removeprefix("$")
    out: list[Doc] = []
    for doc in docs:
        values = _get(doc, field)
        if isinstance(values, list):
            out.extend({**doc, field: v} for v in values)  # top-level paths only
    return out


def run_pipeline(docs: Iterable[Doc], pipeline: Iterable[Mapping[str, Any]]) -> list[Doc]:
    """The result of ``pipeline`` over ``docs``, or UnsupportedAggregation."""
    rows = list(docs)
    for stage in pipeline:
        ((name, spec),) = stage.items()
        if name == "$match":
            rows = [d for d in rows if _matches(d, spec)]
        elif name == "$group":
            rows = _group(rows, spec)
        elif name == "$project":
            rows = [_project(d, spec) for d in rows]
        elif name == "$unwind":
            rows = _unwind(rows, spec)
        elif name == "$sort":
            for key, direction in reversed(list(spec.items())):
                rows.sort(key=_sort_by(key), reverse=direction < 0)
        elif name == "$count":
            rows = [{spec: len(rows)}] if rows else []
        else:
            raise UnsupportedAggregation(name)
    return rows


def _sort_by(path: str) -> Callable[[Doc], tuple[int, Any]]:
    return lambda doc: _sort_key(_get(doc, path))


def _sort_key(value: Any) -> tuple[int, Any]:
    # Missing and null sort first, as in MongoDB; mixed types are not compared.
    if value is _MISSING or value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))
