"""Rounds of outcomes from the shared messages, played through the service on the real
servers: a clean round passes the gate and lowers review on messages no model trained on; a
round where one label is settled at another label's departments, and one with 30% of tickets
settled at random, are stopped by the audit and refused by the gate, naming the right labels."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from scripts.rounds import Round, load, split, tickets
from tests.integration.loop import TRAINER_TOKEN, Loop, new_loop, train_base
from tests.servers import KafkaServer, MongoServer
from triage.adapters.registry_file import load_registry

pytestmark = pytest.mark.integration

# The loop's small recipe, with a fifth of the base data held out for the gate: the poisoned
# label (交通运输, the smallest) then has some 20 hold-out messages.
CONFIG = "folds = 3\nholdout = 0.0\nk_best = 20000\nmin_threshold_support = 5\ngate_holdout = 0.2\n"
POISONED, AS = "交通运输", "城乡建设"


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture(scope="module")
def rounds_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base part of the messages, the unseen part, and a model trained on the base part."""
    work = tmp_path_factory.mktemp("rounds")
    base, _, unseen = split(load())
    _write(work / "base.jsonl", base)
    _write(work / "unseen.jsonl", unseen)
    (work / "small.toml").write_text(CONFIG)
    return train_base(work)


@pytest.fixture
def loop(
    kafka_server: KafkaServer, mongo_server: MongoServer, rounds_base: Path, tmp_path: Path
) -> Iterator[Loop]:
    one = new_loop(kafka_server, mongo_server, rounds_base, tmp_path, "rounds")
    (tmp_path / "small.toml").write_text(CONFIG)
    try:
        yield one
    finally:
        one.close()


def _train(loop: Loop, *data: Path, force: str | None = None) -> tuple[str | None, str]:
    """(the new version or None, what `triage train` printed)."""
    before = {p.name for p in loop.models.iterdir()}
    extra = ["--force", "--reason", force] if force else []
    done = loop.cli(
        "train",
        "--data",
        *map(str, data),
        "--models-dir",
        str(loop.models),
        "--config",
        str(loop.work / "small.toml"),
        *extra,
        check=False,
    )
    new = {p.name for p in loop.models.iterdir() if p.is_dir()} - before
    assert done.returncode in (0, 1), done.stderr
    return (new.pop() if new else None), done.stdout


def _compare(loop: Loop, candidate: str, *data: Path, force: str | None = None) -> dict[str, Any]:
    extra = ["--force", "--reason", force] if force else []
    done = loop.cli(
        "models",
        "compare",
        candidate,
        "--data",
        *map(str, data),
        "--config",
        str(loop.work / "small.toml"),
        "--json",
        *extra,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    verdict: dict[str, Any] = json.loads(done.stdout)
    assert verdict["passed"] == (done.returncode == 0)
    return verdict


def _coverage(loop: Loop, model: str, data: Path) -> float:
    done = loop.cli("evaluate", "--model", str(loop.models / model), "--data", str(data), "--json")
    coverage: float = json.loads(done.stdout)["coverage_at_target"]
    return coverage


async def _activate(loop: Loop, version: str) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{loop.http_port}/v1/models/{version}/activate"
    async with ClientSession() as http:
        r = await http.post(url, headers={"Authorization": f"Bearer {TRAINER_TOKEN}"})
        body: dict[str, Any] = await r.json()
        return r.status, body


async def _wait(loop: Loop, what: str, query: dict[str, Any], n: int) -> None:
    store = loop.store()
    try:
        deadline = time.monotonic() + 600
        while await store.tickets.count_documents(query) < n:
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(1)
    finally:
        await store.close()


AGENT_TOKEN = "agent-token-for-the-rounds-test"  # noqa: S105 - a test token


def _tokens(loop: Loop) -> None:
    """A trainer, an agent, and every department with its own token, before any replica."""
    entries = [("trainer", TRAINER_TOKEN, None), ("agent", AGENT_TOKEN, None)] + [
        ("department", _dept_token(d.code), d.code) for d in load_registry().departments
    ]
    text = "".join(
        f'[[tokens]]\ntoken = "{token}"\nrole = "{role}"\n'
        + (f'department = "{dept}"\n' if dept else "")
        for role, token, dept in entries
    )
    (loop.work / "tokens.toml").write_text(text)


def _dept_token(code: str) -> str:
    return f"dept-{code}-token-for-the-rounds-test"


async def _settle(loop: Loop, ids: list[str], expected: dict[str, str]) -> None:
    """Agents and departments act over HTTP with their own tokens, eight tickets at a time: a
    wrong routing or a review is reassigned by an agent, then the department accepts."""
    store = loop.store()
    try:
        docs = await store.tickets.find(
            {"_id": {"$in": ids}}, {"status": 1, "department": 1}
        ).to_list()
    finally:
        await store.close()
    base = f"http://127.0.0.1:{loop.http_port}/v1/tickets"
    gate = asyncio.Semaphore(8)

    async def one(http: ClientSession, doc: dict[str, Any]) -> None:
        right = expected[doc["_id"]]
        steps: list[tuple[str, dict[str, Any]]] = []
        if not (doc["status"] == "routed" and doc.get("department") == right):
            steps.append((AGENT_TOKEN, {"type": "reassign", "department": right}))
        steps.append((_dept_token(right), {"type": "accept"}))
        async with gate:
            for i, (token, event) in enumerate(steps):
                body = {"event_id": f"{doc['_id']}-{i}", **event}
                r = await http.post(
                    f"{base}/{doc['_id']}/events",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status == 200, (doc["_id"], event, await r.text())

    async with ClientSession() as http:
        await asyncio.gather(*(one(http, doc) for doc in docs))


async def _play(loop: Loop, kind: str, rows: list[dict[str, Any]]) -> Path:
    """The round's tickets through the service, settled over HTTP; exported."""
    registry = load_registry()
    batch = tickets(rows, registry, kind)
    wanted = Round(kind, POISONED, AS, share=0.3).departments(rows, registry)
    expected = {t["ticket_id"]: dept for t, dept in zip(batch, wanted, strict=True)}
    ids = list(expected)
    await loop.publish(batch)
    await _wait(loop, f"{kind} tickets decided", {"_id": {"$in": ids}}, len(ids))
    await _settle(loop, ids, expected)
    path = loop.work / f"{kind}.jsonl"
    loop.cli("outcomes", "export", "--out", str(path))
    exported = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return _write(path, [r for r in exported if r["ticket_id"].startswith(f"{kind}-")])


async def test_clean_round_passes_poisoned_and_random_rounds_are_refused(
    loop: Loop, rounds_base: Path
) -> None:
    """Clean: the audit flags nothing, the gate passes, review falls on unseen messages and the
    model activates without force. One label settled at another's departments: `train` and
    `compare` stop on the audit naming only that label and its (label -> department) pairs,
    and forced past the audit the gate refuses it on the base hold-out naming that label;
    activation is refused (409). 30% at random: the audit flags most labels, the gate refuses
    on the hold-out's coverage."""
    base_file, unseen = loop.work / "base.jsonl", rounds_base / "unseen.jsonl"
    reference = (loop.models / "ACTIVE").read_text().strip()
    _, pool, _ = split(load())
    _tokens(loop)
    loop.start_replica(http=True)
    # Rounds small enough to settle in minutes: 500 clean tickets; every transport ticket of a
    # third of the pool and 100 others; 250 with 30% at random.
    clean = await _play(loop, "clean", pool[::3][:500])
    third = pool[1::3]
    poisoned_rows = [r for r in third if r["label"] == POISONED]
    poisoned_rows += [r for r in third if r["label"] != POISONED][:100]
    poisoned = await _play(loop, "poisoned", poisoned_rows)
    noisy = await _play(loop, "random", pool[2::3][:250])
    assert len(clean.read_text("utf-8").splitlines()) == 500

    # A poisoned round: stopped before training, named, with its pairs and examples.
    version, printed = _train(loop, base_file, poisoned)
    assert version is None and "stopped" in printed
    flagged = [line for line in printed.splitlines() if "FLAGGED" in line]
    assert len(flagged) == 1 and POISONED in flagged[0], printed
    assert f"{POISONED} -> {AS} at " in printed and "e.g. poisoned-" in printed
    bad, _ = _train(loop, base_file, poisoned, force="to see what the gate says")
    assert bad is not None
    stopped = _compare(loop, bad, base_file, poisoned)
    assert stopped["stopped_by"] == "audit" and stopped["refused_labels"] == [POISONED]
    verdict = _compare(loop, bad, base_file, poisoned, force="to see what the gate says")
    assert not verdict["passed"] and POISONED in verdict["refused_labels"]
    # The poisoned label loses the most coverage: its tickets go to review.
    drops = {
        label: -row["coverage"]["diff"]
        for label, row in verdict["parts"]["holdout"]["per_class"].items()
    }
    assert max(drops, key=lambda label: drops[label]) == POISONED, verdict["failures"]
    named = [f for f in verdict["failed"] if f["part"] == "holdout" and f["label"] == POISONED]
    assert {f["figure"] for f in named} >= {"coverage"}, verdict["failures"]
    assert (await _activate(loop, bad))[0] == 409

    # 30% settled at random: most labels flagged, and the gate refuses on coverage.
    _, printed = _train(loop, base_file, noisy)
    assert "stopped" in printed
    rand, _ = _train(loop, base_file, noisy, force="to see what the gate says")
    assert rand is not None
    stopped = _compare(loop, rand, base_file, noisy)
    assert stopped["stopped_by"] == "audit" and len(stopped["refused_labels"]) >= 5
    verdict = _compare(loop, rand, base_file, noisy, force="to see what the gate says")
    lost = {f["label"] for f in verdict["failed"] if f["figure"] == "coverage"}
    assert not verdict["passed"] and len(lost) >= 3, verdict["failures"]

    # The clean round: audited, trained, passed, lower review on unseen messages, activated.
    good, printed = _train(loop, base_file, clean)
    assert good is not None and "FLAGGED" not in printed
    verdict = _compare(loop, good, base_file, clean)
    assert verdict["passed"], verdict["failures"]
    assert verdict["parts"]["holdout"]["n"] > 200 and verdict["audit"]["passed"]
    before, after = _coverage(loop, reference, unseen), _coverage(loop, good, unseen)
    assert after > before + 0.01, (before, after)
    status, body = await _activate(loop, good)
    assert status == 200 and body["gate_passed"] is True and body["forced"] is False
