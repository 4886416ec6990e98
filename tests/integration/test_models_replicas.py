"""Models every replica can load: two `triage serve` processes with their own models folders."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.integration.loop import TRAINER_TOKEN, Loop, samples
from triage.adapters import stack

pytestmark = pytest.mark.integration


async def _ready(http: ClientSession, port: int, version: str | None = None) -> dict[str, Any]:
    """The replica's /readyz once it answers 200 (and runs ``version``, when given)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                body: dict[str, Any] = await r.json()
                if r.status == 200 and version in (None, body["checks"]["model"]["version"]):
                    return body
        except OSError:
            pass
        assert time.monotonic() < deadline, f"replica on {port} not ready with {version}"
        await asyncio.sleep(0.3)


async def test_model_trained_and_activated_on_one_replica_routes_on_another(loop: Loop) -> None:
    """A replica whose models folder is empty starts with the active model fetched from the
    store; a model trained into the other replica's folder and activated through its API is
    fetched, verified and used by the first, which routes with it once it runs alone."""
    base = (loop.models / "ACTIVE").read_text().strip()
    elsewhere = loop.work / "models-b"
    elsewhere.mkdir()
    async with ClientSession() as http:
        first = loop.start_replica(http=True)
        port_a = loop.http_port
        assert port_a is not None
        await _ready(http, port_a, base)
        loop.start_replica(http=True, env={"TRIAGE_MODELS_DIR": str(elsewhere)})
        port_b = loop.http_port
        assert port_b is not None and port_b != port_a
        await _ready(http, port_b, base)
        assert (elsewhere / base / "weights.npz").is_file()

        tickets, intended = samples()
        extra = loop.work / "extra.jsonl"
        extra.write_text(
            "".join(
                json.dumps(
                    {"title": t.get("title", ""), "body": t["body"], "label": label},
                    ensure_ascii=False,
                )
                + "\n"
                for t in tickets[:60]
                if (label := intended[t["ticket_id"]]["label"])
            ),
            "utf-8",
        )
        candidate = loop.train(loop.work / "base.jsonl", extra)
        assert not (elsewhere / candidate).exists()
        r = await http.post(
            f"http://127.0.0.1:{port_a}/v1/models/{candidate}/activate",
            headers={"Authorization": f"Bearer {TRAINER_TOKEN}"},
            json={"force": True, "reason": "a test of the model store"},
        )
        assert r.status == 200, await r.text()
        await _ready(http, port_b, candidate)
        listed = await http.get(
            f"http://127.0.0.1:{port_b}/v1/models",
            headers={"Authorization": f"Bearer {TRAINER_TOKEN}"},
        )
        body = await listed.json()
        assert body["active"] == candidate
        assert {base, candidate} <= {v["version"] for v in body["versions"]}
        for name in ("manifest.json", "weights.npz"):
            assert (elsewhere / candidate / name).read_bytes() == (
                loop.models / candidate / name
            ).read_bytes()

        # The replica that had the folder stops; the other routes everything from now on.
        assert stack.stop_child(first) == 0
        sent = [{**t, "ticket_id": "b-" + t["ticket_id"]} for t in tickets[:40]]
        await loop.publish(sent)
        ids = [t["ticket_id"] for t in sent]
        await loop.until(
            "the tickets routed by the second replica",
            lambda s: loop._has(s, {"_id": {"$in": ids}}, len(ids)),
        )
        store = loop.store()
        try:
            docs = await store.tickets.find({"_id": {"$in": ids}}).to_list()
        finally:
            await store.close()
        assert {d["first_model_version"] for d in docs} == {candidate}
        body = await _ready(http, port_b, candidate)
        assert body["checks"]["consumer"]["partitions"] > 0

    pushed = loop.cli("models", "push", str(loop.models / candidate))
    assert "already in the model store" in pushed.stdout
