"""Daily statistics counters: which increments a ticket, an event or a dead letter implies.

Pure: the store applies the increments (``$inc`` upserts into ``daily_counters``) and
``triage stats rebuild`` recomputes them from the documents with the same functions, so the
two can be compared figure for figure.

Four kinds of counter documents, one per local day and (for the first two) per department:

- ``state`` ``s|<received day>|<department>``: tickets received that day, by the department
  holding them now: ``status.<s>``, ``channel.<c>``, ``district.<d>``, ``label.<l>``,
  ``auto.<true|false>``, ``model.<version>`` (decisions), ``settled.<first>~<auto>~<model>``
  (accepted or resolved tickets: where they were first routed). A ticket counts once in
  exactly one state document; an event moves it between statuses and departments.
- ``flow`` ``f|<event day>|<department>``: what happened that day: ``accepted``,
  ``returned``, ``resolved``, ``reassigned_to``, ``reason.<return reason>``, and the hours
  from receipt to each accept and resolve as histograms ``accept_h.<bucket>``,
  ``resolve_h.<bucket>`` (percentiles come from the bucket counts).
- ``dead`` ``d|<day>``: dead letters by reason kind, ``reason.<kind>``.
- ``models`` ``m|<received day>``: the last decision time per model version (``$max``).

Values become field names, so ``.``, ``$`` and ``%`` are escaped (``key``/``unkey``) and a
missing value is ``-``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

__all__ = [
    "FINAL_STATUSES",
    "HOUR_BUCKETS",
    "NONE",
    "OPEN_STATUSES",
    "WAITING_ACCEPT",
    "Increments",
    "Lasts",
    "Pending",
    "Tally",
    "add",
    "apply_to",
    "bucket",
    "bucket_percentile",
    "counter_meta",
    "counts_of",
    "deadletter_increments",
    "event_increments",
    "flow_id",
    "flow_increments",
    "insert_time_doc",
    "key",
    "last_decisions",
    "latest",
    "local_day",
    "local_hour",
    "merge",
    "move_increments",
    "state_increments",
    "sum_fields",
    "ticket_delta",
    "total",
    "unkey",
]

Doc = dict[str, Any]
# counter document id -> field path -> amount
Increments = dict[str, dict[str, int]]
# ``m|<day>`` document id -> ``last.<version>`` -> the latest decision time (for ``$max``)
Lasts = dict[str, dict[str, datetime]]

LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
NONE = "-"
_META = frozenset({"_id", "kind", "day", "department", "ops", "updated_at", "value"})
FINAL_STATUSES = ("accepted", "resolved")
WAITING_ACCEPT = ("routed", "reassigned")
OPEN_STATUSES = ("review", "routed", "accepted", "returned", "reassigned")
# Upper edges (hours) of the time-to-accept / time-to-resolve histogram; the last bucket is
# open. Finer where most tickets fall (the first working days), coarse after a month.
HOUR_BUCKETS: tuple[float, ...] = (
    0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 120, 168, 240, 360, 720,
)  # fmt: skip


def key(value: object) -> str:
    """A value as a field name: escaped so it holds no ``.`` or ``$``; None is ``-``."""
    if value is None:
        return NONE
    text = str(value)
    if text == NONE:
        return "%2D"
    escaped = text.replace("%", "%25").replace(".", "%2E").replace("$", "%24")
    return escaped.replace("~", "%7E") or "%20"


@lru_cache(maxsize=65536)
def unkey(name: str) -> str | None:
    """The value a field name stands for (the inverse of ``key``)."""
    if name == NONE:
        return None
    if name == "%20":
        return ""
    text = name.replace("%2D", "-").replace("%2E", ".").replace("%24", "$").replace("%7E", "~")
    return text.replace("%25", "%")


def local_day(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).date().isoformat()


def local_hour(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H")


def state_id(day: str, department: str | None) -> str:
    return f"s|{day}|{key(department)}"


def flow_id(day: str, department: str | None) -> str:
    return f"f|{day}|{key(department)}"


def counter_meta(doc_id: str) -> Doc:
    """The fields a counter document carries besides its counts (set when it is created)."""
    kind, day, *rest = doc_id.split("|")
    names = {"s": "state", "f": "flow", "d": "dead", "m": "models"}
    department = unkey(rest[0]) if rest else None
    return {"kind": names[kind], "day": day, "department": department}


def add(into: Increments, doc_id: str, field: str, n: int = 1) -> None:
    fields = into.setdefault(doc_id, {})
    fields[field] = fields.get(field, 0) + n


def merge(parts: Iterable[Increments], *, negate: bool = False) -> Increments:
    """The sum of several increments; zero amounts and empty documents are dropped."""
    out: Increments = {}
    sign = -1 if negate else 1
    for part in parts:
        for doc_id, fields in part.items():
            for field, n in fields.items():
                add(out, doc_id, field, sign * n)
    cleaned = {d: {f: n for f, n in fields.items() if n} for d, fields in out.items()}
    return {d: fields for d, fields in cleaned.items() if fields}


def state_increments(doc: Mapping[str, Any]) -> Increments:
    """What one stored ticket adds to its state document, in its current state."""
    day = doc.get("received_day")
    if not day:
        return {}
    doc_id = state_id(day, doc.get("department"))
    out: Increments = {}
    status = doc.get("status")
    add(out, doc_id, f"status.{key(status)}")
    add(out, doc_id, f"channel.{key(doc.get('channel'))}")
    add(out, doc_id, f"district.{key(doc.get('district'))}")
    add(out, doc_id, f"label.{key(doc.get('label'))}")
    add(out, doc_id, f"auto.{'true' if doc.get('auto_routed') is True else 'false'}")
    for decision in doc.get("decisions") or ():
        add(out, doc_id, f"model.{key(decision.get('model_version'))}")
    # Open tickets by the local hour their department's clock started (receipt, or the last
    # reassignment): deadlines in working hours are applied when the figures are read.
    started = doc.get("reassigned_at") or doc.get("received_at")
    if isinstance(started, datetime):
        if status in WAITING_ACCEPT:
            add(out, doc_id, f"acc_open.{local_hour(started)}")
        elif status == "accepted":
            add(out, doc_id, f"res_open.{local_hour(started)}")
    if status in FINAL_STATUSES:
        auto = "true" if doc.get("auto_routed") is True else "false"
        first, model = key(doc.get("first_department")), key(doc.get("first_model_version"))
        add(out, doc_id, f"settled.{first}~{auto}~{model}")
    return out


def ticket_delta(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> Increments:
    """What a ticket write changes: its new state's increments less its old state's."""
    parts = [state_increments(new)]
    if old is None:
        return merge(parts)
    return merge([*parts, merge([state_increments(old)], negate=True)])


def insert_time_doc(doc: Mapping[str, Any]) -> Doc:
    """The ticket as first inserted (its first decision), whatever happened to it since."""
    decisions = doc.get("decisions") or [{}]
    first = decisions[0]
    history = doc.get("status_history") or [{}]
    rest = {k: v for k, v in doc.items() if k != "reassigned_at"}
    return {
        **rest,
        "status": history[0].get("status", first.get("kind")),
        "department": first.get("department"),
        "district": first.get("district"),
        "label": first.get("label"),
        "decisions": decisions[:1],
    }


def last_decisions(doc: Mapping[str, Any]) -> Lasts:
    """``m|<day>`` document -> ``last.<version>`` -> the latest decision time (for ``$max``)."""
    day = doc.get("received_day")
    out: Lasts = {}
    if not day:
        return out
    fields: dict[str, datetime] = {}
    for decision in doc.get("decisions") or ():
        at = decision.get("at")
        if isinstance(at, datetime):
            name = f"last.{key(decision.get('model_version'))}"
            fields[name] = max(fields.get(name, at), at)
    if fields:
        out[f"m|{day}"] = fields
    return out


def latest(into: Lasts, lasts: Mapping[str, Mapping[str, datetime]]) -> None:
    """Keep in ``into`` the later of its times and those of ``lasts`` (as ``$max`` would)."""
    for doc_id, times in lasts.items():
        mine = into.setdefault(doc_id, {})
        for field, at in times.items():
            mine[field] = max(mine.get(field, at), at)


def bucket(hours: float) -> int:
    """The histogram bucket of a duration: index of the first upper edge >= ``hours``."""
    return bisect.bisect_left(HOUR_BUCKETS, max(hours, 0.0))


def move_increments(
    ticket: Mapping[str, Any],
    *,
    from_status: str | None,
    from_department: str | None,
    to_status: str | None,
    to_department: str | None,
    at: datetime | None = None,
) -> Increments:
    """An event moves the ticket between statuses and departments in its state document."""
    before = {**ticket, "status": from_status, "department": from_department}
    after = {**ticket, "status": to_status, "department": to_department}
    if to_status == "reassigned" and at is not None:
        after["reassigned_at"] = at
    return ticket_delta(before, after)


def flow_increments(record: Mapping[str, Any], received_at: datetime | None) -> Increments:
    """What the day of an event counts: the event by its department, a return's reason, and
    the hours from receipt for accepts and resolves."""
    out: Increments = {}
    at = record.get("at")
    if not isinstance(at, datetime):
        return out
    doc_id = flow_id(local_day(at), record.get("department"))
    kind = record.get("type")
    names = {"accept": "accepted", "return": "returned", "resolve": "resolved"}
    if kind in names:
        add(out, doc_id, names[kind])
    elif kind == "reassign":
        add(out, doc_id, "reassigned_to")
    if kind == "return":
        add(out, doc_id, f"reason.{key(record.get('reason') or '')}")
    if kind in ("accept", "resolve") and isinstance(received_at, datetime):
        hours = (at - received_at).total_seconds() / 3600
        add(out, doc_id, f"{kind}_h.{bucket(hours)}")
    return out


def event_increments(
    record: Mapping[str, Any],
    ticket: Mapping[str, Any],
    *,
    from_status: str | None,
    from_department: str | None,
    to_status: str | None,
    to_department: str | None,
) -> Increments:
    """Everything one applied event changes (``ticket``: the stored ticket before it)."""
    move = move_increments(
        ticket,
        from_status=from_status,
        from_department=from_department,
        to_status=to_status,
        to_department=to_department,
        at=record.get("at") if isinstance(record.get("at"), datetime) else None,
    )
    received = ticket.get("received_at")
    flow = flow_increments(record, received if isinstance(received, datetime) else None)
    return merge([move, flow])


def deadletter_increments(day: str, kind: str) -> Increments:
    return {f"d|{day}": {f"reason.{key(kind)}": 1}}


def bucket_percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile of a histogram, interpolated linearly inside its bucket."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for index in sorted(counts):
        n = counts[index]
        if n <= 0:
            continue
        if seen + n >= rank:
            low = 0.0 if index == 0 else HOUR_BUCKETS[index - 1]
            if index >= len(HOUR_BUCKETS):
                return low
            high = HOUR_BUCKETS[index]
            return low + (high - low) * max(rank - seen, 0) / n
        seen += n
    return HOUR_BUCKETS[-1]


class Tally:
    """Every counter recomputed from the documents themselves (tickets in their current
    state, every event, every dead letter): what the write path should have accumulated."""

    def __init__(self) -> None:
        self.counts: Increments = {}
        self.lasts: Lasts = {}

    def _add(self, increments: Increments) -> None:
        for doc_id, fields in increments.items():
            for field, n in fields.items():
                add(self.counts, doc_id, field, n)

    def ticket(self, doc: Mapping[str, Any]) -> None:
        self._add(state_increments(doc))
        latest(self.lasts, last_decisions(doc))

    def event(self, record: Mapping[str, Any], received_at: datetime | None) -> None:
        self._add(flow_increments(record, received_at))

    def deadletter(self, day: str, kind: str | None) -> None:
        self._add(deadletter_increments(day, kind or "unknown"))

    def result(self) -> Increments:
        return merge([self.counts])


class Pending:
    """The counts of several operations added up in memory, to be written as one: a counter
    document touched by all of them takes one update instead of one per operation."""

    def __init__(self) -> None:
        self.ops: list[str] = []
        self.counts: Increments = {}
        self.lasts: Lasts = {}
        # Each operation's own counts, so that one handed over to another writer can be left out.
        self._parts: dict[str, tuple[Increments, Mapping[str, Mapping[str, datetime]]]] = {}

    def __len__(self) -> int:
        return len(self.ops)

    def add(self, op: str, counts: Increments, lasts: Mapping[str, Mapping[str, datetime]]) -> None:
        self.ops.append(op)
        self._parts[op] = (counts, lasts)
        for doc_id, fields in counts.items():
            for field, n in fields.items():
                add(self.counts, doc_id, field, n)
        latest(self.lasts, lasts)

    def only(self, ops: Iterable[str]) -> Pending:
        """The same without the operations not in ``ops``."""
        keep = set(ops)
        out = Pending()
        for op in self.ops:
            if op in keep:
                out.add(op, *self._parts[op])
        return out

    def increments(self) -> Increments:
        """The summed counts, without the amounts that cancelled out."""
        return merge([self.counts])


def counts_of(docs: Iterable[Mapping[str, Any]]) -> Increments:
    """Counter documents as stored, back to ``{id: {field path: n}}`` (for comparisons)."""
    out: Increments = {}
    for doc in docs:
        doc_id = str(doc["_id"])
        if doc_id.startswith("m|") or "|" not in doc_id:
            continue
        for name, value in doc.items():
            if isinstance(value, Mapping):
                for sub, n in value.items():
                    if isinstance(n, int) and n:
                        add(out, doc_id, f"{name}.{sub}", n)
            elif name not in _META and isinstance(value, int) and value:
                add(out, doc_id, name, value)
    return out


def sum_fields(docs: Iterable[Mapping[str, Any]], name: str) -> dict[str | None, int]:
    """One nested count (``status``, ``channel``...) summed over documents, keys unescaped."""
    raw: dict[str, int] = {}
    get = raw.get
    for doc in docs:
        for sub, n in (doc.get(name) or {}).items():
            raw[sub] = get(sub, 0) + n
    out: dict[str | None, int] = {}
    for sub, n in raw.items():
        value = unkey(sub)
        out[value] = out.get(value, 0) + n
    return out


def total(doc: Mapping[str, Any], name: str = "status") -> int:
    """The sum of one nested count of one document (its tickets, for ``status``)."""
    return sum((doc.get(name) or {}).values())


def apply_to(
    docs: dict[str, Doc],
    counts: Increments,
    lasts: Mapping[str, Mapping[str, datetime]] | None = None,
) -> None:
    """Apply increments to counter documents held in memory (as ``$inc`` and ``$max`` would)."""
    for doc_id, fields in [*counts.items(), *(lasts or {}).items()]:
        doc = docs.setdefault(doc_id, {"_id": doc_id, **counter_meta(doc_id)})
        for path, value in fields.items():
            head, _, sub = path.partition(".")
            slot = doc.setdefault(head, {}) if sub else doc
            name = sub or head
            if isinstance(value, datetime):
                current = slot.get(name)
                slot[name] = value if current is None or value > current else current
            else:
                slot[name] = slot.get(name, 0) + value
