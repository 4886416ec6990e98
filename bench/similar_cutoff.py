"""How similar a recent ticket must be to be listed as `similar` (the cut-off of POST /v1/suggest).

Each shared message, in time order, asks the detector for its eight most similar earlier ones
(as `similar` does), then joins the window. Two tables of the matches by similarity, each
with the precision of everything at or above: on the hot-spot messages, whether both fall in
the same hot spot of `triage hotspots` over the file, and (independent of the detector)
whether they fall in the same one of the seven complaints found by hand
(bench/hotspots_quality.py); on the classifier messages (one every 30 minutes, in file order),
whether both carry the same topic label: two texts of different topics are not one problem.

    python bench/similar_cutoff.py
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from hotspots_quality import REFERENCES  # noqa: E402

from triage.core.hotspots import Detector, DetectorConfig, Sighting  # noqa: E402
from triage.core.text import clean  # noqa: E402

Buckets = dict[float, list[int]]


def scan(sightings: list[Sighting], same: Callable[[str, str], bool | None]) -> Buckets:
    # as the window that answers `similar` keeps it (``SimilarIndex``)
    detector = Detector(DetectorConfig(df_window_only=True))
    buckets: defaultdict[float, list[int]] = defaultdict(lambda: [0, 0])
    for s in sightings:
        matches, _ = detector.similar(s.title, s.body, at=s.received_at, limit=8)
        for m in matches:
            verdict = same(s.ticket_id, m.ticket_id)
            if verdict is not None:
                buckets[min(int(m.similarity * 20) / 20, 0.95)][0 if verdict else 1] += 1
        detector.observe(s)
    return dict(buckets)


def show(title: str, buckets: Buckets) -> None:
    print(title)
    same = other = 0
    for low in sorted(buckets, reverse=True):
        same, other = same + buckets[low][0], other + buckets[low][1]
        print(f"  >= {low:.2f}  precision {same / (same + other):.3f}  matches {same + other}")


def main() -> None:
    rows = [json.loads(line) for line in (SHARED / "hotspots" / "messages.jsonl").open()]
    rows.sort(key=lambda r: (r["received_at"], r["message_id"]))
    board = [
        Sighting(
            r["message_id"],
            datetime.fromisoformat(r["received_at"]),
            clean(r["title"]),
            clean(r["body"]),
        )
        for r in rows
    ]
    reference = {a.ticket_id: a.hotspot_id for a in Detector(DetectorConfig()).replay_all(board)}
    show(
        "hot-spot messages: in the same hot spot of `triage hotspots`",
        scan(board, lambda a, b: reference[a] == reference[b]),
    )
    found: dict[str, str] = {}
    for name, test in REFERENCES.items():
        for r in rows:
            if test(r):
                found.setdefault(r["message_id"], name)

    def by_hand(a: str, b: str) -> bool | None:
        if a not in found and b not in found:
            return None
        return found.get(a) == found.get(b)

    show("hot-spot messages: in the same complaint found by hand", scan(board, by_hand))
    labelled = [json.loads(line) for line in (SHARED / "messages" / "train.jsonl").open()]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    labels = {str(i): r["label"] for i, r in enumerate(labelled)}
    texts = [
        Sighting(str(i), start + timedelta(minutes=30 * i), clean(r["title"]), clean(r["body"]))
        for i, r in enumerate(labelled)
    ]
    show(
        "classifier messages: same topic label",
        scan(texts, lambda a, b: labels[a] == labels[b]),
    )


if __name__ == "__main__":
    main()
