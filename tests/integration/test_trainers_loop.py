"""The trainers' loop end to end on the real servers, with real models and replicas."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from scripts.departments import expected_departments
from tests.integration.loop import (
    SAMPLES,
    SMALL_CONFIG,
    TRAINER_TOKEN,
    Loop,
    halves,
    samples,
)
from training.holdout import in_holdout
from triage.adapters.artifact import load_model
from triage.core.shadow_stats import settled_pipeline, shape_shadow
from triage.core.stats import StatsQuery
from triage.core.text import prepare

pytestmark = pytest.mark.integration

SOURCE = {"accepted": "confirmed", "returned": "corrected", "reassigned from review": "from_review"}


def _rows(path: Path) -> dict[str, dict[str, Any]]:
    return {r["ticket_id"]: r for r in map(json.loads, path.read_text("utf-8").splitlines())}


async def test_outcomes_retrain_gate_promote_and_route_better(loop: Loop) -> None:
    """Departments return a share of the first half and agents reassign it; export has exactly
    the settled labels; the retrained candidate passes the gate and is promoted; both replicas
    switch between batches with no ticket lost or decided twice; tickets like the corrected ones
    now go to the right department; statistics per model version show both versions."""
    base_file = loop.work / "base.jsonl"
    base_version = (loop.models / "ACTIVE").read_text().strip()
    tickets, intended = samples()
    first, second = halves(tickets, intended)
    expected = expected_departments(loop.registry, SAMPLES / "tickets_labels.jsonl")
    loop.start_replica(http=True)
    loop.start_replica()
    await loop.publish(first)
    cases = await loop.settle(first, expected)
    assert cases.get("returned", 0) > 0 and cases.get("reassigned from review", 0) > 0

    outcomes = loop.work / "outcomes.jsonl"
    loop.cli("outcomes", "export", "--out", str(outcomes))
    rows = _rows(outcomes)
    assert set(rows) == {t["ticket_id"] for t in first}
    for ticket_id, row in rows.items():
        assert row["department"] == expected[ticket_id]
        handles = loop.registry.department(row["department"]).labels
        # A merged bureau handles two labels: its acceptance cannot tell which one was meant.
        assert row["label"] == intended[ticket_id]["label"] or (
            len(handles) > 1 and row["label"] in handles
        ), row
    corrected = [i for i, r in rows.items() if r["source"] == "corrected"]
    assert sorted({r["source"] for r in rows.values()}) == sorted(
        {SOURCE[c] for c in cases if c in SOURCE}
    )

    candidate = loop.train(base_file, outcomes)
    manifest = load_model(loop.models / candidate).manifest
    # The newest outcome it trained on: those that fall in the gate's hold-out are not.
    share = manifest["data"]["gate_holdout"]
    trained = [r for r in rows.values() if not in_holdout(prepare(r["title"], r["body"]), share)]
    assert manifest["data"]["settled_until"] == max(r["settled_at"] for r in trained)

    publishing = asyncio.create_task(loop.publish(second, rate=4))
    await asyncio.sleep(2)
    promoted = await asyncio.to_thread(
        loop.cli, "models", "promote", candidate, "--data", str(base_file), str(outcomes), "--json"
    )
    verdict = json.loads(promoted.stdout)
    assert verdict["passed"] and verdict["activation"]["active"] == candidate
    await publishing
    await loop.until("every ticket of both halves", lambda s: loop._has(s, {}, len(tickets)))
    assert await loop.count({}) == len(tickets)
    assert await loop.count({"decisions.1": {"$exists": True}}) == 0
    used = {d["first_model_version"] for d in await _docs(loop, [t["ticket_id"] for t in second])}
    assert used == {base_version, candidate}

    # Tickets like those whose label the outcomes corrected (returned and reassigned, or
    # reviewed with a wrong top suggestion), sent again after both replicas switched. Returns
    # that only moved a ticket to its district's office teach the label model nothing.
    decided = {d["_id"]: d for d in await _docs(loop, list(rows))}
    relabelled = [i for i, r in rows.items() if decided[i]["first_label"] != r["label"]]
    assert len(relabelled) >= 3 and corrected
    await asyncio.sleep(1)
    like = [
        {**t, "ticket_id": "again-" + t["ticket_id"]} for t in first if t["ticket_id"] in relabelled
    ]
    await loop.publish(like)
    await loop.until("the new tickets", lambda s: loop._has(s, {}, len(tickets) + len(like)))
    again = await _docs(loop, [t["ticket_id"] for t in like])
    assert {d["first_model_version"] for d in again} == {candidate}
    right = 0
    for doc in again:
        original = doc["_id"][len("again-") :]
        if doc["first_label"] != rows[original]["label"]:
            continue
        right += 1
        if doc["district"] == intended[original]["district"]:
            assert doc["first_department"] == expected[original], doc["_id"]
    assert right >= 0.8 * len(like), (right, len(like))

    await loop.settle(second, expected)
    store = loop.store()
    try:
        settled = await store.aggregate("tickets", settled_pipeline(StatsQuery()))
    finally:
        await store.close()
    view = shape_shadow(StatsQuery(), loop.registry, [], settled, active=candidate, shadow=None)
    versions = {v["version"]: v for v in view["versions"] if v["ran"] == "routing"}
    assert set(versions) == {base_version, candidate}
    assert all(v["settled"] > 0 and v["accuracy"] is not None for v in versions.values())
    async with ClientSession() as http:
        ready = await http.get(f"http://127.0.0.1:{loop.http_port}/readyz")
        assert (await ready.json())["checks"]["model"]["version"] == candidate


async def _docs(loop: Loop, ids: list[str]) -> list[dict[str, Any]]:
    store = loop.store()
    try:
        cursor = store.tickets.find({"_id": {"$in": ids}})
        docs: list[dict[str, Any]] = await cursor.to_list()
    finally:
        await store.close()
    return docs


async def test_poisoned_outcomes_are_refused_forced_promotion_recorded_rollback(
    loop: Loop,
) -> None:
    """Agents reassign the first half's trade tickets to housing: training on that stops at
    the audit naming the trade label; forced past it, the candidate is refused naming the
    trade label; a forced promotion is recorded with its reason and the figures; rollback
    restores the base model."""
    base_file = loop.work / "base.jsonl"
    base_version = (loop.models / "ACTIVE").read_text().strip()
    tickets, intended = samples()
    first, second = halves(tickets, intended)
    expected = expected_departments(loop.registry, SAMPLES / "tickets_labels.jsonl")
    poisoned = {
        ticket_id: (
            loop.registry.for_label("城乡建设", intended[ticket_id]["district"]).code
            if intended[ticket_id]["label"] == "商贸旅游"
            else department
        )
        for ticket_id, department in expected.items()
    }
    loop.start_replica(http=True)
    await loop.publish(first)
    await loop.settle(first, poisoned)
    bad = loop.work / "poisoned.jsonl"
    loop.cli("outcomes", "export", "--out", str(bad))
    assert sum(r["label"] == "商贸旅游" for r in _rows(bad).values()) == 0
    (loop.work / "small.toml").write_text(SMALL_CONFIG)
    config = ("--config", str(loop.work / "small.toml"))
    stopped = loop.cli(
        "train",
        "--data",
        str(base_file),
        str(bad),
        "--out",
        str(loop.work / "x"),
        *config,
        check=False,
    )
    assert stopped.returncode == 1 and "商贸旅游" in stopped.stdout and "stopped" in stopped.stdout
    candidate = loop.train(base_file, bad, force="trade labels checked by hand")

    await loop.publish(second)
    await loop.settle(second, expected)
    everything = loop.work / "outcomes.jsonl"
    loop.cli("outcomes", "export", "--out", str(everything))
    args = ("models", "promote", candidate, "--data", str(base_file), str(everything))
    refused = loop.cli(*args, "--json", check=False)
    assert refused.returncode == 1, refused.stderr
    verdict = json.loads(refused.stdout)
    assert not verdict["passed"] and verdict["refused_labels"] == ["商贸旅游"]
    assert verdict["stopped_by"] == "audit" and "activation" not in verdict

    forced = loop.cli(*args, "--force", "--reason", "trade labels checked by hand")
    assert f"promoted {candidate}" in forced.stdout
    store = loop.store()
    try:
        (record,) = await store.activations(1)
    finally:
        await store.close()
    assert record["version"] == candidate and record["forced"] is True
    assert record["reason"] == "trade labels checked by hand"
    assert record["gate"]["passed"] is False and record["gate"]["failures"]

    headers = {"Authorization": f"Bearer {TRAINER_TOKEN}"}
    base_url = f"http://127.0.0.1:{loop.http_port}"
    async with ClientSession() as http:
        for _ in range(40):
            ready = await (await http.get(f"{base_url}/readyz")).json()
            if ready["checks"]["model"]["version"] == candidate:
                break
            await asyncio.sleep(0.5)
        back = await http.post(f"{base_url}/v1/models/rollback", headers=headers)
        assert back.status == 200 and (await back.json())["active"] == base_version
        ready = await (await http.get(f"{base_url}/readyz")).json()
        assert ready["checks"]["model"]["version"] == base_version
    assert (loop.models / "ACTIVE").read_text().strip() == base_version
