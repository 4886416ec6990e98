"""A new label, from the departments' outcomes to routing, through the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.departments import expected_departments
from tests.integration.loop import BASE, SAMPLES, Loop, samples
from triage.adapters.registry_file import load_registry

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).resolve().parents[2] / "triage" / "data" / "foshan_departments.toml"
LABELS = (
    'labels = ["城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", '
    '"卫生计生"]'
)
MARKET = 'code = "city-market"\nname = "佛山市市场监督管理局"\nlevel = "city"\nlabels = []'
# Consumer complaints about prices, shops and fakes: the market regulation bureau's work.
WORDS = ("价签", "超市", "乱收费", "假冒", "商家", "价格")
NOT_MARKET = ("旅行社", "旅游", "导游")


def _with_market_label(path: Path) -> Path:
    text = SHIPPED.read_text("utf-8")
    assert LABELS in text and MARKET in text
    text = text.replace(LABELS, LABELS[:-1] + ', "市场监管"]')
    text = text.replace(MARKET, MARKET.replace("labels = []", 'labels = ["市场监管"]'))
    path.write_text(text, "utf-8")
    return path


async def test_new_label_from_export_to_routing(loop: Loop) -> None:
    """Agents send consumer complaints to market regulation, which no label maps to: the export
    flags them (label null). Once the registry maps a new label there, the export labels them,
    the retrained model predicts it, activation is refused while the registry lacks the label,
    and a replica with the new registry routes such tickets to market regulation."""
    tickets, intended = samples()
    registry = load_registry()
    expected = expected_departments(registry, SAMPLES / "tickets_labels.jsonl")
    market = [
        t["ticket_id"]
        for t in tickets
        if intended[t["ticket_id"]]["label"] == "商贸旅游"
        and any(w in t["body"] for w in WORDS)
        and not any(w in t["body"] for w in NOT_MARKET)
    ]
    assert len(market) >= 8
    for ticket_id in market:
        expected[ticket_id] = "city-market"
    loop.start_replica()
    await loop.publish(tickets)
    await loop.settle(tickets, expected)

    flagged = loop.cli("outcomes", "export", "--out", str(loop.work / "old.jsonl"), "--json")
    summary = json.loads(flagged.stdout)
    assert summary["unmapped"] == {"city-market": len(market)}

    loop.extra["TRIAGE_DEPARTMENTS"] = str(_with_market_label(loop.work / "registry.toml"))
    outcomes = loop.work / "outcomes.jsonl"
    labelled = json.loads(loop.cli("outcomes", "export", "--out", str(outcomes), "--json").stdout)
    assert labelled["labels"]["市场监管"] == len(market) and labelled["unmapped"] == {}

    why = "new label 市场监管 for the market regulation bureau"
    # A new label contradicts what the reference knows: the audit is overruled, with a reason.
    candidate = loop.train(loop.work / "base.jsonl", outcomes, force=why)
    promote = ("models", "promote", candidate, "--data", str(BASE), str(outcomes), "--force")
    reason = ("--reason", why)
    old_registry = {k: v for k, v in loop.extra.items() if k != "TRIAGE_DEPARTMENTS"}
    loop.extra, with_label = old_registry, loop.extra
    refused = loop.cli(*promote, *reason, check=False)
    assert refused.returncode == 1 and "市场监管" in refused.stderr
    assert "registry" in refused.stderr

    loop.close()
    loop.extra = with_label
    loop.cli(*promote, *reason)
    loop.start_replica()
    again = [
        {**t, "ticket_id": "market-" + t["ticket_id"]} for t in tickets if t["ticket_id"] in market
    ]
    await loop.publish(again)
    ids = [t["ticket_id"] for t in again]
    await loop.until("the new tickets", lambda s: loop._has(s, {"_id": {"$in": ids}}, len(ids)))
    store = loop.store()
    try:
        docs = await store.tickets.find({"_id": {"$in": ids}}).to_list()
    finally:
        await store.close()
    assert {d["first_model_version"] for d in docs} == {candidate}
    to_market = [d for d in docs if d["first_label"] == "市场监管"]
    assert len(to_market) >= 0.8 * len(docs)
    assert all(d["first_department"] == "city-market" for d in to_market)
