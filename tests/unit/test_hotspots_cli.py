"""`triage hotspots` over files: both column sets, bad lines, and the real shared messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_hotspots import BACKGROUND, LIFA
from triage.service.cli import main
from triage.service.hotspots_cli import read_sightings

MESSAGES = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hotspots" / "messages.jsonl"
)
needs_messages = pytest.mark.skipif(
    not MESSAGES.is_file(),
    reason=f"{MESSAGES} is absent: the citizen messages live outside the repository",
)


def write_file(path: Path, board_columns: bool) -> None:
    lines = []
    for i, (title, body) in enumerate(BACKGROUND + LIFA):
        at = f"2026-11-{1 + i // 10:02d}T{8 + i % 10:02d}:00:00+08:00"
        if board_columns:
            row = {"message_id": str(900 + i), "user": f"U{i}", "title": title, "body": body}
            row |= {"received_at": at, "likes": i % 3, "dislikes": 0}
        else:
            row = {"ticket_id": f"T-{i}", "caller": f"c{i}", "title": title, "body": body}
            row |= {"received_at": at, "channel": "web"}
        lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("board_columns", [True, False])
def test_reads_board_and_replay_columns(tmp_path: Path, board_columns: bool) -> None:
    """The shared file's columns and the replay ticket columns both give the same tickets."""
    path = tmp_path / "t.jsonl"
    write_file(path, board_columns)
    sightings, problems = read_sightings(path)
    assert problems == []
    assert len(sightings) == len(BACKGROUND) + len(LIFA)
    assert all(s.caller for s in sightings)


def test_bad_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    """Broken JSON, a missing body, a naive time and a repeated id are named by line number."""
    path = tmp_path / "t.jsonl"
    write_file(path, board_columns=False)
    good = path.read_text("utf-8")
    bad = [
        "{not json",
        json.dumps({"ticket_id": "x1", "received_at": "2026-11-01T08:00:00+08:00"}),
        json.dumps({"ticket_id": "x2", "body": "路灯坏了", "received_at": "2026-11-01T08:00:00"}),
        json.dumps({"ticket_id": "T-0", "body": "路灯坏了", "received_at": "2026-11-01T08:00:00Z"}),
        "[1, 2]",
    ]
    path.write_text(good + "\n".join(bad) + "\n", encoding="utf-8")
    sightings, problems = read_sightings(path)
    assert len(sightings) == len(BACKGROUND) + len(LIFA)
    first_bad = len(BACKGROUND) + len(LIFA) + 1
    assert [p.split(":")[1] for p in problems] == [str(first_bad + i) for i in range(5)]
    assert "no body" in problems[1] and "no UTC offset" in problems[2]
    assert "repeated" in problems[3]


def test_command_prints_ranked_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--json --top 1` prints the one hot spot of the file with its four members."""
    path = tmp_path / "t.jsonl"
    write_file(path, board_columns=True)
    assert main(["hotspots", "--data", str(path), "--json", "--top", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tickets"] == len(BACKGROUND) + len(LIFA)
    [top] = out["top"]
    assert sorted(top["members"]) == [str(900 + len(BACKGROUND) + i) for i in range(4)]
    assert top["rank"] == 1 and top["callers"] == 4 and "丽发" in top["places"]


def test_command_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that cannot be read is an error naming it, not a traceback."""
    assert main(["hotspots", "--data", str(tmp_path / "absent.jsonl")]) == 1
    assert "cannot read" in capsys.readouterr().err


def _grep(rows: list[dict[str, str]], *groups: str) -> set[str]:
    """Ids of messages holding one word of every `|`-separated group."""
    return {
        r["message_id"]
        for r in rows
        if all(any(w in r["title"] + r["body"] for w in g.split("|")) for g in groups)
    }


@needs_messages
@pytest.mark.slow
def test_shared_messages_top_hotspots_match_what_a_reader_finds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On the real messages, the top five hold the three big campaigns nearly whole and clean."""
    assert main(["hotspots", "--data", str(MESSAGES), "--json", "--top", "5"]) == 0
    top = json.loads(capsys.readouterr().out)["top"]
    rows = [json.loads(line) for line in MESSAGES.read_text("utf-8").splitlines()]
    expected = {
        "伊景园滨河苑 bundled parking": _grep(rows, "伊景园|滨河苑", "车位"),
        "丽发新城 mixing plant": _grep(rows, "丽发", "搅拌"),
        "58车贷 fraud case": _grep(rows, "58车贷"),
    }
    for name, ids in expected.items():
        best = max(top, key=lambda h: len(ids & set(h["members"])))
        found = ids & set(best["members"])
        assert len(found) >= 0.8 * len(ids), f"{name}: {len(found)} of {len(ids)}"
        assert len(found) >= 0.8 * len(best["members"]), f"{name}: strays"
