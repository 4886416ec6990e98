"""The hot-spot stage's pieces without servers: per-ticket writes from a batch, the records
between the stages, the window that answers `similar`, and which stages a process runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.ordering import Merger, Queued, StallTimer
from streams.sightings import decided_message, decode_decided, decode_detected, detected_message
from tests.unit.test_hotspots import BACKGROUND, LIFA
from triage.adapters.hotspot_tracker import HotspotTracker
from triage.adapters.registry_file import load_registry
from triage.adapters.store import TicketRecord
from triage.core.domain import LabelScore, Prediction
from triage.core.errors import SettingsError
from triage.core.hotspots import Detector, DetectorConfig, Sighting
from triage.core.routing import decide
from triage.core.settings import STAGES, Settings

START = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _sighting(tid: str, text: tuple[str, str], hours: float) -> Sighting:
    title, body = text
    return Sighting(tid, START + timedelta(hours=hours), title, body, department="review")


class _NoStore:
    """The tracker's store is not touched by ``observe``."""


def _tracker(window_days: float) -> HotspotTracker:
    return HotspotTracker(_NoStore(), DetectorConfig(window_days=window_days))  # type: ignore[arg-type]


def test_a_spot_that_grows_and_leaves_the_window_in_one_batch_is_written() -> None:
    """Two paraphrases, then a ticket a week later that pushes both out of a one-day window,
    all in one batch: both are still written into one hot spot, with its figures."""
    batch = [
        _sighting("lf-0", LIFA[0], 0),
        _sighting("lf-1", LIFA[1], 2),
        _sighting("bg-0", BACKGROUND[0], 24 * 7),
    ]
    write = _tracker(1).observe(batch)
    spots = dict(write.assignments)
    assert spots["lf-0"] == spots["lf-1"] != spots["bg-0"]
    joins = [j for j in write.joins if j.hotspot_id == spots["lf-0"]]
    assert sorted(j.ticket_id for j in joins) == ["lf-0", "lf-1"]
    [figures] = [s for s, _ in write.spots if s.hotspot_id == spots["lf-0"]]
    assert figures.tickets == 2


def test_a_replay_older_than_the_window_keeps_its_stored_hot_spot() -> None:
    """A ticket replayed after it left the window (an old offset read again after a rebuild)
    keeps the hot spot stored for it, and no figures of a hot spot no longer held are set."""
    tracker = _tracker(1)
    batch = [_sighting("lf-0", LIFA[0], 0), _sighting("lf-1", LIFA[1], 2)]
    first = tracker.observe([*batch, _sighting("bg-0", BACKGROUND[0], 24 * 7)])
    stored = dict(first.assignments)
    replay = [_sighting("lf-1", LIFA[1], 2), _sighting("bg-1", BACKGROUND[1], 24 * 7 + 1)]
    assert tracker.before_window(replay) == ["lf-1"]
    write = tracker.observe(replay, {"lf-1": stored["lf-1"]})
    assert dict(write.assignments)["lf-1"] == stored["lf-1"]
    assert [j.ticket_id for j in write.joins if j.hotspot_id == stored["lf-1"]] == ["lf-1"]
    assert stored["lf-1"] not in {s.hotspot_id for s, _ in write.spots}


def test_a_batch_is_detected_in_received_at_order() -> None:
    """Handed over newest first, the oldest ticket still seeds the hot spot."""
    batch = [_sighting(f"lf-{i}", LIFA[i], 10 - i) for i in range(3)]
    write = _tracker(90).observe(batch)
    assert [t for t, _ in write.assignments] == ["lf-2", "lf-1", "lf-0"]
    assert {h for _, h in write.assignments} == {write.assignments[0][1]}


def test_a_replayed_ticket_writes_its_idempotent_update_again() -> None:
    """A ticket seen twice gets the same hot spot and a second (harmless) update."""
    tracker = _tracker(90)
    first = tracker.observe([_sighting("lf-0", LIFA[0], 0), _sighting("lf-1", LIFA[1], 1)])
    again = tracker.observe([_sighting("lf-1", LIFA[1], 1)])
    assert again.assignments == first.assignments[1:]
    assert [j.ticket_id for j in again.joins] == ["lf-1"]


def test_follow_fills_the_window_without_counters() -> None:
    """A reader's window finds the followed tickets and keeps no hot spots of its own."""
    detector = Detector()
    for i, text in enumerate(LIFA):
        detector.follow(_sighting(f"lf-{i}", text, i), "hs-0000000000000001")
    matches, joins = detector.similar(*LIFA[0])
    assert matches[0].ticket_id == "lf-0" and joins == "hs-0000000000000001"
    assert detector.spots() == []


def test_decided_and_detected_records_round_trip() -> None:
    """A decided ticket carries a hash of the caller, never the number; the detected copy
    carries its hot spot and no caller at all; garbage is refused with a reason."""
    decision = decide(
        Prediction((LabelScore("环境保护", 0.9),), (), "v1"),
        load_registry(),
        ticket_id="t-1",
        digest="d",
        location=None,
        thresholds={},
    )
    record = TicketRecord("t-1", START, "web", LIFA[0][0], LIFA[0][1], None, decision)
    out = decided_message(record, "13800001111", "p.decided")
    assert b"13800001111" not in out.value and out.key == b"t-1"
    ticket = decode_decided(out.value)
    assert not isinstance(ticket, str)
    assert ticket.sighting().received_at == START and ticket.caller
    detected = decode_detected(detected_message(ticket, "hs-1", "p.detected").value)
    assert not isinstance(detected, str)
    assert detected.hotspot_id == "hs-1" and detected.caller is None
    assert isinstance(decode_decided(b"{}"), str)
    assert isinstance(decode_detected(out.value), str)  # no hot spot yet


def test_stages_from_the_environment() -> None:
    """All stages by default; a list picks some; `none` none; an unknown name is refused."""
    assert Settings.from_env({}).stages == frozenset(STAGES)
    chosen = Settings.from_env({"TRIAGE_STAGES": "routing, events"}).stages
    assert chosen == {"routing", "events"}
    assert Settings.from_env({"TRIAGE_STAGES": "none"}).stages == frozenset()
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"TRIAGE_STAGES": "routing,hotspot"})
    assert err.value.variable == "TRIAGE_STAGES"


def _queued(source: int, offset: int, hours: float, ticket_id: str = "") -> Queued:
    return Queued(source, offset, START + timedelta(hours=hours), ticket_id, offset)


def test_the_merge_releases_in_time_order_only_what_cannot_be_preceded() -> None:
    """Tickets of three partitions come back oldest first, each once every partition has
    queued a later one; a partition with nothing queued holds the rest back until it is known
    to be idle; commits stop at the oldest queued."""
    merger = Merger(3)
    merger.add([_queued(0, 0, 5), _queued(1, 1, 1), _queued(0, 2, 6), _queued(1, 3, 2)])
    assert merger.release() == []  # partition 2 may still send something older
    assert merger.commit_offset() == 0
    out = merger.release({2})
    assert [q.offset for q in out] == [1]  # partition 1 may send more from 2 h
    assert merger.commit_offset() == 0
    merger.add([_queued(1, 4, 7)])
    assert [q.offset for q in merger.release({2})] == [3, 0]  # 2 h, 5 h; 6 h and 7 h wait
    assert merger.commit_offset() == 2
    merger.add([_queued(2, 5, 3)])
    assert merger.release() == []  # partition 2 may send more from 3 h
    assert [q.offset for q in merger.release(force=True)] == [5, 2, 4]
    assert merger.commit_offset() == 6


def test_tickets_received_together_go_out_by_ticket_id() -> None:
    """Two tickets received at the same time in two partitions wait until neither partition
    can send a third at that time, then go out by ticket id, not by where they were queued."""
    merger = Merger(2)
    merger.add([_queued(0, 0, 1, "t-b"), _queued(1, 1, 1, "t-a"), _queued(0, 2, 2, "t-c")])
    assert merger.release() == []  # partition 1 may still send another at 1 h
    merger.add([_queued(1, 3, 3, "t-d")])
    assert [q.ticket_id for q in merger.release()] == ["t-a", "t-b"]
    assert [q.ticket_id for q in merger.release({0, 1})] == ["t-c", "t-d"]


def test_the_order_of_tickets_received_together_changes_their_scores() -> None:
    """Why one order matters: two tickets received at the same moment, followed in either
    order, score differently; sorted by `Sighting.order`, every replica adds them alike."""
    pair = [_sighting("t-b", LIFA[0], 1), _sighting("t-a", LIFA[1], 1)]
    background = [_sighting(f"bg-{i}", text, 0) for i, text in enumerate(BACKGROUND)]

    def answer(order: list[Sighting]) -> object:
        detector = Detector(DetectorConfig(df_window_only=True))
        for sighting in [*background, *order]:
            detector.follow(sighting, f"hs-{sighting.ticket_id}")
        return detector.similar(*LIFA[2])

    assert answer(pair) != answer(pair[::-1])
    assert answer(sorted(pair, key=lambda s: s.order)) == answer(
        sorted(pair[::-1], key=lambda s: s.order)
    )


def test_the_stall_timer_counts_only_a_wait_while_fetching() -> None:
    """Held back 30 s while fetching: stalled. A release or an empty merge ends the wait; a
    reset (waiting for routing on purpose, a rebuild) starts it again from nothing."""
    now = [0.0]
    timer = StallTimer(30.0, clock=lambda: now[0])
    timer.note(released=False, queued=True)
    now[0] = 29.0
    assert not timer.expired()
    now[0] = 31.0
    assert timer.expired()
    timer.note(released=True, queued=True)
    assert not timer.expired()
    timer.note(released=False, queued=True)  # waits again from 31 s
    now[0] = 100.0
    timer.reset()  # paused for routing, or rebuilt: that time is not a stall
    assert not timer.expired()
    timer.note(released=False, queued=True)
    now[0] = 120.0
    assert not timer.expired()
    timer.note(released=False, queued=False)
    now[0] = 1000.0
    assert not timer.expired()
