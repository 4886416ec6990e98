"""Reading labelled files: JSONL, CSV, XLSX, both column conventions, and bad inputs."""

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from training.loaders import LoadError, load_examples, load_file


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_jsonl_with_project_columns(tmp_path: Path) -> None:
    """`id`, `title` (may be empty), `body`, `label` as in the shared messages file."""
    p = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"id": "1", "title": "", "body": "小区噪音", "label": "环境保护", "time": None},
            {"id": "2", "title": "欠薪", "body": "公司拖欠工资", "label": "劳动和社会保障"},
        ],
    )
    ex = load_file(p)
    assert [(e.id, e.title, e.label) for e in ex] == [
        ("1", "", "环境保护"),
        ("2", "欠薪", "劳动和社会保障"),
    ]


def test_csv_with_competition_columns_in_gbk(tmp_path: Path) -> None:
    """The 2020 Teddy Cup columns (留言主题, 留言详情, 一级标签), GBK-encoded as published."""
    p = tmp_path / "附件2.csv"
    text = (
        "留言编号,留言用户,留言主题,留言时间,留言详情,一级标签\n"
        "24,A001,路灯不亮,2019/1/1,小区路灯坏了,城乡建设\n"
    )
    p.write_bytes(text.encode("gbk"))
    (e,) = load_file(p)
    assert (e.id, e.title, e.body, e.label) == ("24", "路灯不亮", "小区路灯坏了", "城乡建设")


def test_xlsx_with_competition_columns(tmp_path: Path) -> None:
    """An XLSX sheet whose first row names the columns."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["留言编号", "留言主题", "留言详情", "一级标签"])
    ws.append([7, "学位", "孩子入学没有学位", "教育文体"])
    ws.append([None, None, None, None])
    p = tmp_path / "a.xlsx"
    wb.save(p)
    (e,) = load_file(p)
    assert (e.id, e.body, e.label) == ("7", "孩子入学没有学位", "教育文体")


def test_several_files_are_concatenated(tmp_path: Path) -> None:
    """`--data A B` reads both, in order."""
    a = write_jsonl(tmp_path / "a.jsonl", [{"body": "甲", "label": "x"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"body": "乙", "label": "y"}])
    assert [e.body for e in load_examples([a, b])] == ["甲", "乙"]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (b'{"body": "a", "label": "x"}\n{"body": "b", "label"\n', 2, "invalid JSON"),
        (b'{"body": "a", "label": "x"}\n[1, 2]\n', 2, "expected a JSON object"),
        (b'{"label": "x"}\n', 1, "no body column"),
        (b'{"body": "a"}\n', 1, "no label column"),
        (b'{"body": "  ", "label": "x"}\n', 1, "empty body"),
        (b'{"body": 5, "label": "x"}\n', 1, "body must be text"),
        (b'{"body": "a", "label": "x"}\n\xff\xfe\n', 2, "not UTF-8"),
    ],
)
def test_bad_jsonl_names_file_line_and_problem(
    tmp_path: Path, content: bytes, line: int, reason: str
) -> None:
    """One clear error: the file, the line, and what is wrong with it."""
    p = tmp_path / "bad.jsonl"
    p.write_bytes(content)
    with pytest.raises(LoadError) as err:
        load_file(p)
    assert err.value.line == line and reason in str(err.value)
    assert str(err.value).startswith(f"{p}:{line}: ")


def test_csv_row_with_extra_fields_is_refused(tmp_path: Path) -> None:
    """A CSV row with more fields than the header is an error naming its line."""
    p = tmp_path / "bad.csv"
    p.write_text("body,label\n好,x\n坏,y,z\n", "utf-8")
    with pytest.raises(LoadError, match=r"bad.csv:3: more fields"):
        load_file(p)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.txt", b"x", "unknown file type"),
        ("a.xlsx", b"not a zip", "not a readable XLSX"),
        ("a.jsonl", b"\n\n", "holds no examples"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    """Unknown types, corrupt workbooks and empty files are refused by name."""
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load_file(p)


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is named in the error."""
    with pytest.raises(LoadError, match="no such file"):
        load_file(tmp_path / "nope.jsonl")
