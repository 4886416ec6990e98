"""Every statistics response as a table with Chinese headers, for the monthly report
(``?format=csv|xlsx``). Pure: the API renders the rows as CSV or XLSX."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from triage.core.outcomes import STATUS_LABELS

__all__ = ["TABLES", "Table", "table"]

Doc = dict[str, Any]
Cell = str | int | float | None

_DIMENSIONS = (
    ("by_status", "状态"),
    ("by_channel", "渠道"),
    ("by_district", "区"),
    ("by_label", "类别"),
    ("by_department", "部门"),
)


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[list[Cell]]


def _summary(body: Doc) -> Table:
    rows: list[list[Cell]] = [
        ["总计", "工单数", body["tickets"]],
        ["总计", "自动派单", body["auto_routed"]],
        ["总计", "自动派单率", body["auto_route_rate"]],
        ["总计", "退单率", body["return_rate"]],
        ["总计", "死信", body["deadletters"]["total"]],
    ]
    for status, n in body["by_status"].items():
        rows.append(["状态", STATUS_LABELS.get(status, status), n])
    for key, label in _DIMENSIONS[1:]:
        rows.extend([label, r["key"] or "（无）", r["count"]] for r in body[key])
    rows.extend(["退单原因", r["reason"], r["count"]] for r in body["top_return_reasons"])
    return Table("概览", ("维度", "项目", "数量"), rows)


def _daily(body: Doc) -> Table:
    rows: list[list[Cell]] = [
        [d["day"], d["tickets"], d["auto_routed"], d["review"], d["deadletters"]]
        for d in body["days"]
    ]
    return Table("每日工单", ("日期", "工单数", "自动派单", "人工审核", "死信"), rows)


def _departments(body: Doc) -> Table:
    rows: list[list[Cell]] = [
        [
            d["department"],
            d["name"],
            d["tickets"],
            d["accepted"],
            d["returned"],
            d["resolved"],
            d["reassigned_to"],
            d["return_rate"],
            d["hours_to_accept"]["median"],
            d["hours_to_accept"]["p90"],
            d["hours_to_resolve"]["median"],
            d["hours_to_resolve"]["p90"],
        ]
        for d in body["departments"]
    ]
    headers = (
        "部门代码",
        "部门",
        "工单数",
        "受理",
        "退单",
        "办结",
        "改派转入",
        "退单率",
        "受理用时中位数（小时）",
        "受理用时P90（小时）",
        "办结用时中位数（小时）",
        "办结用时P90（小时）",
    )
    return Table("部门办理情况", headers, rows)


def _accuracy(body: Doc) -> Table:
    rows: list[list[Cell]] = [["总计", "全部", body["tickets"], body["correct"], body["accuracy"]]]
    for key, label in (("auto_routed", "自动派单"), ("reviewed", "人工审核")):
        score = body[key]
        rows.append(["派单方式", label, score["tickets"], score["correct"], score["accuracy"]])
    rows.extend(
        ["模型版本", m["model_version"], m["tickets"], m["correct"], m["accuracy"]]
        for m in body["by_model"]
    )
    rows.extend(
        ["部门", d["department"], d["tickets"], d["correct"], d["accuracy"]]
        for d in body["by_department"]
    )
    return Table("首次派单准确率", ("维度", "项目", "已定工单", "首派正确", "准确率"), rows)


def _backlog(body: Doc) -> Table:
    ages = [a["key"] for a in body["ages"]]
    rows: list[list[Cell]] = [
        [
            d["department"] or "（热线待处理）",
            d["name"],
            d["open"],
            *[d["ages"].get(a, 0) for a in ages],
            d["waiting_accept"],
            d["overdue_accept"],
            d["waiting_resolve"],
            d["overdue_resolve"],
            d["accept_hours"],
            d["resolve_hours"],
        ]
        for d in body["departments"]
    ]
    age_headers = tuple(f"积压 {a.replace('d', '天')}" for a in ages)
    headers = (
        "部门代码",
        "部门",
        "未办结",
        *age_headers,
        "待受理",
        "超期未受理",
        "待办结",
        "超期未办结",
        "受理时限（工作小时）",
        "办结时限（工作小时）",
    )
    return Table("积压与超期", headers, rows)


def _routings(body: Doc) -> Table:
    rows: list[list[Cell]] = [
        [r["routed_to"], r["routed_to_name"], r["settled_at"], r["settled_at_name"], r["count"]]
        for r in body["routings"]
    ]
    headers = ("首派部门代码", "首派部门", "最终办理部门代码", "最终办理部门", "工单数")
    return Table("常见错派", headers, rows)


def _queue(body: Doc) -> Table:
    rows: list[list[Cell]] = [
        [
            t["ticket_id"],
            STATUS_LABELS.get(t["status"], t["status"]),
            t["title"],
            t["received_at"],
            t["age_hours"],
            "办结" if t["waiting_for"] == "resolve" else "受理",
            t["due"],
            "是" if t["overdue"] else "否",
        ]
        for t in body["tickets"]
    ]
    headers = ("工单号", "状态", "标题", "受理时间", "已过小时", "待办事项", "时限", "超期")
    return Table("部门工单队列", headers, rows)


TABLES: dict[str, Callable[[Doc], Table]] = {
    "queue": _queue,
    "summary": _summary,
    "daily": _daily,
    "departments": _departments,
    "accuracy": _accuracy,
    "backlog": _backlog,
    "routings": _routings,
}


def table(name: str, body: Doc) -> Table:
    """The table of the ``name`` statistics response ``body``."""
    return TABLES[name](body)
