"""Input validation: every malformed sample is refused with a reason, good tickets pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.codec import Ticket, decode_ticket, loads_ticket_id

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
MALFORMED = SAMPLES.joinpath("malformed.jsonl").read_bytes().split(b"\n")[:-1]


def test_every_sample_ticket_decodes() -> None:
    """All 280 sample tickets pass validation with a timezone-aware received_at."""
    for line in SAMPLES.joinpath("tickets.jsonl").read_bytes().splitlines():
        ticket = decode_ticket(line, 20_000)
        assert isinstance(ticket, Ticket)
        assert ticket.received_at.tzinfo is not None


@pytest.mark.parametrize(
    ("index", "reason"),
    [
        (0, "invalid JSON"),
        (1, "schema: Expected `object`"),
        (2, "ticket_id"),
        (3, "body"),
        (4, "body is empty"),
        (5, "received_at"),
        (6, "no UTC offset"),
        (7, "body too long"),
        (8, "channel"),
        (9, "body is empty"),
        (10, "not UTF-8"),
        (11, "not UTF-8"),
    ],
)
def test_malformed_lines_are_refused_with_reason(index: int, reason: str) -> None:
    """Each kind of malformed sample returns a reason naming what is wrong."""
    result = decode_ticket(MALFORMED[index], 20_000)
    assert isinstance(result, str)
    assert reason in result


def test_overlong_ticket_id_is_refused() -> None:
    """A ticket_id over 64 characters is a schema violation."""
    raw = b'{"ticket_id": "' + b"x" * 65 + b'", "received_at": "2026-11-20T10:00:00+08:00",'
    raw += b' "channel": "web", "body": "ok"}'
    assert "ticket_id" in str(decode_ticket(raw, 100))


def test_none_value_is_refused() -> None:
    """A tombstone (no value) becomes a dead letter, not a crash."""
    assert decode_ticket(None, 100) == "empty message (no value)"


def test_replay_key_found_only_in_objects() -> None:
    """The replay key is the ticket_id of an object line, None for anything else."""
    assert loads_ticket_id(b'{"ticket_id": "T-1"}') == "T-1"
    assert loads_ticket_id(b'["T-1"]') is None
    assert loads_ticket_id(MALFORMED[0]) is None
    assert loads_ticket_id(MALFORMED[10]) is None
