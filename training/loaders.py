"""Labelled messages from JSONL, CSV and XLSX files, with one clear error per bad input.

Column names are those of this project's JSONL (`title`, `body`, `label`) and those of the 2020
Teddy Cup files (留言主题, 留言详情, 一级标签); a title is optional, a body and a label are not.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.core.errors import TriageError

TITLE = ("title", "留言主题", "主题", "标题")
BODY = ("body", "留言详情", "详情", "内容", "text")
LABEL = ("label", "一级标签", "一级分类", "标签", "department")
ID = ("id", "ticket_id", "留言编号", "编号")


class LoadError(TriageError):
    """A training file that cannot be read; names the file, the line (or row) and the problem."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    title: str
    body: str
    label: str
    # When the label was learned from a settled ticket (`triage outcomes export`), else None.
    settled_at: str | None = None
    # The department an exported outcome settled with (the audit reports it), else None.
    department: str | None = None


def load_examples(paths: Sequence[Path]) -> list[Example]:
    """All examples of all files, in order."""
    out: list[Example] = []
    for path in paths:
        out.extend(load_file(path))
    return out


def load_file(path: Path) -> list[Example]:
    if not path.is_file():
        raise LoadError(path, None, "no such file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows: Iterator[tuple[int, Mapping[str, Any]]] = _jsonl_rows(path)
    elif suffix in (".csv", ".tsv"):
        rows = _csv_rows(path, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".xlsx":
        rows = _xlsx_rows(path)
    else:
        raise LoadError(
            path, None, f"unknown file type {suffix!r}: use .jsonl, .csv, .tsv or .xlsx"
        )
    examples = [_example(path, line, row) for line, row in rows if not _unmapped(row)]
    if not examples:
        raise LoadError(path, None, "holds no examples")
    return examples


def _pick(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    return None


def _unmapped(row: Mapping[str, Any]) -> bool:
    """An exported outcome whose department no label maps to: a signal, not an example."""
    return "source" in row and "department" in row and row.get("label") is None


def _example(path: Path, line: int, row: Mapping[str, Any]) -> Example:
    body, label = _pick(row, BODY), _pick(row, LABEL)
    if body is None:
        raise LoadError(path, line, f"no body column (one of {', '.join(BODY)})")
    if label is None:
        raise LoadError(path, line, f"no label column (one of {', '.join(LABEL)})")
    title = _pick(row, TITLE) or ""
    for name, value in (("body", body), ("label", label), ("title", title)):
        if not isinstance(value, str):
            raise LoadError(path, line, f"{name} must be text, got {type(value).__name__}")
    if not body.strip():
        raise LoadError(path, line, "empty body")
    if not label.strip():
        raise LoadError(path, line, "empty label")
    ident = _pick(row, ID)
    settled = row.get("settled_at")
    if settled is not None and not isinstance(settled, str):
        raise LoadError(path, line, f"settled_at must be text, got {type(settled).__name__}")
    department = row.get("department") if settled is not None else None
    return Example(
        str(ident) if ident is not None else f"{path.name}:{line}",
        title,
        body,
        label.strip(),
        settled,
        department if isinstance(department, str) else None,
    )


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise LoadError(path, n, f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise LoadError(path, n, f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
            if not isinstance(row, dict):
                raise LoadError(path, n, f"expected a JSON object, got {type(row).__name__}")
            yield n, row


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # the published competition files are GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoadError(path, None, "neither UTF-8 nor GB18030 text")


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(_decode(path), newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        raise LoadError(path, 1, "no header row")
    reader.fieldnames = [h.strip() for h in reader.fieldnames]
    for row in reader:
        if None in row:
            raise LoadError(path, reader.line_num, "more fields than the header names")
        yield reader.line_num, {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    from openpyxl import load_workbook  # only when an XLSX file is given

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise LoadError(path, None, f"not a readable XLSX workbook ({type(exc).__name__})") from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise LoadError(path, 1, "no header row")
        names = [str(h).strip() if h is not None else "" for h in header]
        for n, values in enumerate(rows, start=2):
            if all(v is None for v in values):
                continue
            row = {
                k: (str(v).strip() if isinstance(v, str | int) and k in ID else v)
                for k, v in zip(names, values, strict=False)
            }
            row = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
            yield n, row
    finally:
        book.close()
