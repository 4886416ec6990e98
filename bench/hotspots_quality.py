"""How well hot-spot detection recovers complaints a reader finds by hand, per representation.

Seven complaints of the shared message-board file are found with greps for their place and
problem (the organisers' planted campaigns also by their user ids, A909201-A909243 for the
mixing plant). For each, the hot spot holding most of its messages gives precision (its
members in the grep set) and recall (the grep set in it); the table sums them over the seven,
for the shipped configuration and three alternatives, with tickets per CPU-second (cleaning
included).

    python bench/hotspots_quality.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT.parent / "shared" / "data" / "hotspots" / "messages.jsonl"

Row = dict[str, Any]


def _has(row: Row, *groups: str) -> bool:
    text = row["title"] + row["body"]
    return all(any(word in text for word in group.split("|")) for group in groups)


REFERENCES: dict[str, Callable[[Row], bool]] = {
    "丽发新城 mixing plant": lambda r: (
        _has(r, "丽发", "搅拌") or r["user"] in {f"A909{n}" for n in range(201, 244)}
    ),
    "伊景园滨河苑 bundled parking": lambda r: _has(
        r, "伊景园|滨河苑|广铁|武广新城", "车位|捆绑|定向|广铁"
    ),
    "魅力之城 restaurants": lambda r: _has(r, "魅力之城", "油烟|噪音|夜宵|烧烤|门面|商铺|餐"),
    "58车贷 case": lambda r: _has(r, "58车贷|58车货"),
    "经济学院 internships": lambda r: _has(r, "经济学院", "实习|打工|工厂|社会实践"),
    "月亮岛 power line": lambda r: _has(r, "月亮岛|金星北", "高压"),
    "绿地海外滩 railway": lambda r: _has(r, "海外滩", "高铁|噪音"),
}


def run(rows: list[Row], refs: dict[str, set[str]], variant: str) -> dict[str, Any]:
    from triage.core.hotspots import Detector, DetectorConfig, Sighting, terms
    from triage.core.hotspots import places as places_
    from triage.core.text import clean

    config = DetectorConfig()
    represent = terms.bag
    if variant == "no consensus":
        config = replace(config, consensus_threshold=1.0)
    elif variant == "no place boost":
        config = replace(config, place_boost=1.0)
    elif variant == "jieba words":
        from triage.core.tokenize import tokenize

        def words(title: str, body: str) -> terms.TermBag:
            body = body[: max(0, terms.MAX_CHARS - len(title))]
            counts = Counter(w for w in tokenize(body) if len(w) > 1)
            for w in tokenize(title):
                if len(w) > 1:
                    counts[w] += 2
            named = tuple(places_.places(title + "，" + body[: terms.PLACE_CHARS]))
            found = list(counts)
            boosted_at = [i for i, t in enumerate(found) if any(t in p or p in t for p in named)]
            return terms.TermBag(
                found,
                [float(v) for v in counts.values()],
                named,
                terms.place_bigrams(named),
                boosted_at,
            )

        represent = words
    d = Detector(config, represent)
    members: dict[str, list[str]] = defaultdict(list)
    started = time.process_time()
    for r in rows:
        at = datetime.fromisoformat(r["received_at"])
        sighting = Sighting(r["message_id"], at, clean(r["title"]), clean(r["body"]))
        members[d.observe(sighting).hotspot_id].append(r["message_id"])
    per_cpu_s = len(rows) / (time.process_time() - started)
    found = held = wanted = 0
    per_reference = {}
    for name, ids in refs.items():
        best = max(members.values(), key=lambda m: len(ids & set(m)))
        both = len(ids & set(best))
        found, held, wanted = found + both, held + len(best), wanted + len(ids)
        per_reference[name] = {"grep": len(ids), "hot_spot": len(best), "both": both}
    precision, recall = found / held, found / wanted
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(2 * precision * recall / (precision + recall), 3),
        "tickets_per_cpu_s": round(per_cpu_s),
        "per_reference": per_reference,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = parser.parse_args()
    if not MESSAGES.is_file():
        raise SystemExit(f"{MESSAGES} is absent")
    rows = [json.loads(line) for line in MESSAGES.read_text("utf-8").splitlines() if line]
    rows.sort(key=lambda r: (r["received_at"], r["message_id"]))
    refs = {name: {r["message_id"] for r in rows if test(r)} for name, test in REFERENCES.items()}
    variants = ["shipped", "no consensus", "no place boost", "jieba words"]
    result = {v: run(rows, refs, v) for v in variants}
    print(f"{'variant':16s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'tickets/CPU-s':>14s}")
    for v, r in result.items():
        print(
            f"{v:16s} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>6.3f} "
            f"{r['tickets_per_cpu_s']:>14,}"
        )
    for name, counts in result["shipped"]["per_reference"].items():
        print(f"  {name}: {counts}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
