"""`triage outcomes export` on tickets that departments and agents acted on, real servers."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api import Api
from tests.integration.outcomes import act, triage_cli
from triage.adapters.outcome_handler import EventIn, handle_event
from triage.adapters.registry_file import load_registry
from triage.core.outcomes import Actor, OutcomeInvalid
from triage.service.keys import PRODUCER, REGISTRY

pytestmark = pytest.mark.integration


def _export(api: Api, out: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`triage outcomes export --out OUT` on the API's database: what it printed, and the
    rows written by ticket id."""
    done = triage_cli(
        ["outcomes", "export", "--out", str(out)],
        mongodb_uri=api.settings.mongodb_uri,
        db=api.settings.db,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["ticket_id"]: row for row in map(json.loads, out.read_text("utf-8").splitlines())}
    return done, rows


async def test_export_writes_exactly_the_settled_labels(api: Api, tmp_path: Path) -> None:
    """Confirmed, corrected and from-review tickets are exported with the registry's label (a
    district counterpart like its city department, market regulation as null); returned, still
    routed and reassigned-only tickets are not; the summary counts them."""
    registry = load_registry()
    docs = await api.seed(120)
    routed = [
        d
        for d in docs
        if d["status"] == "routed"
        and len(registry.department(d["department"]).labels) == 1
        and "transport" not in d["department"]
    ]
    review = [d for d in docs if d["status"] == "review"]
    assert len(routed) >= 6 and len(review) >= 3
    ids = [d["_id"] for d in routed[:6]]
    await act(api, ids[0], [("accept", None)])
    await act(api, ids[1], [("accept", None), ("resolve", None)])
    await act(api, ids[2], [("return", None), ("reassign", "city-transport"), ("accept", None)])
    await act(api, ids[3], [("return", None), ("reassign", "city-market"), ("accept", None)])
    await act(api, ids[4], [("return", None)])
    await act(api, ids[5], [("accept", None), ("return", None)])
    r = [d["_id"] for d in review[:3]]
    await act(api, r[0], [("reassign", "shunde-health"), ("accept", None)])
    await act(api, r[1], [("reassign", "city-hrss")])
    await act(api, r[2], [("reassign", "city-market"), ("accept", None), ("resolve", None)])

    out = tmp_path / "outcomes.jsonl"
    done, rows = _export(api, out)
    labels = {d["department"]: registry.department(d["department"]).labels[0] for d in routed}
    got = {k: (v["department"], v["label"], v["source"]) for k, v in rows.items()}
    assert got == {
        ids[0]: (routed[0]["department"], labels[routed[0]["department"]], "confirmed"),
        ids[1]: (routed[1]["department"], labels[routed[1]["department"]], "confirmed"),
        ids[2]: ("city-transport", "交通运输", "corrected"),
        ids[3]: ("city-market", None, "corrected"),
        r[0]: ("shunde-health", "卫生计生", "from_review"),
        r[2]: ("city-market", None, "from_review"),
    }
    stored = await api.store.get(ids[2])
    assert rows[ids[2]]["body"] == stored["body"] and rows[ids[2]]["title"] == stored["title"]
    assert {"id", "title", "body", "label", "settled_at"} <= set(rows[ids[0]])
    assert "6 examples (4 labelled, 2 unmapped" in done.stdout
    assert "city-market" in done.stdout and "from_review" in done.stdout

    later = triage_cli(
        ["outcomes", "export", "--out", str(out), "--since", "2999-01-01", "--json"],
        mongodb_uri=api.settings.mongodb_uri,
        db=api.settings.db,
    )
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["examples"] == 0 and out.read_text("utf-8") == ""


def test_export_refuses_bad_arguments_and_an_unreachable_store(tmp_path: Path) -> None:
    """A bad date or an empty window exits 2, a MongoDB that does not answer exits 1, each with
    one clear line and no file written."""
    out = tmp_path / "x.jsonl"
    bad = triage_cli(
        ["outcomes", "export", "--out", str(out), "--since", "last week"],
        mongodb_uri="mongodb://127.0.0.1:9",
        db="x",
    )
    assert bad.returncode == 2 and "neither a date" in bad.stderr
    empty = triage_cli(
        ["outcomes", "export", "--out", str(out), "--since", "2026-11-20", "--until", "2026-11-19"],
        mongodb_uri="mongodb://127.0.0.1:9",
        db="x",
    )
    assert empty.returncode == 2 and "--since must be before --until" in empty.stderr
    started = time.monotonic()
    down = triage_cli(
        ["outcomes", "export", "--out", str(out)], mongodb_uri="mongodb://127.0.0.1:9", db="x"
    )
    assert down.returncode == 1 and "did not answer" in down.stderr
    assert time.monotonic() - started < 30
    assert not out.exists() and not list(tmp_path.iterdir())


async def test_merged_bureau_export_takes_the_stated_or_best_scored_label(
    api: Api, tmp_path: Path
) -> None:
    """An agent dispatching to a bureau of two labels may state which is meant (HTTP, checked
    against the bureau's labels); the export writes it, and without one the bureau's label
    the model scored highest, not a fixed default."""
    docs = await api.seed(60)
    review = [d for d in docs if d["status"] == "review"][:2]
    assert len(review) == 2
    stated, unstated = review[0]["_id"], review[1]["_id"]
    bureau = "nanhai-env-transport"
    call = api.client.call

    async def dispatch(ticket_id: str, event_id: str, **extra: str) -> int:
        body = {"event_id": event_id, "type": "reassign", "department": bureau, **extra}
        return (
            await call("POST", f"/v1/tickets/{ticket_id}/events", "agent", json_body=body)
        ).status

    assert await dispatch(stated, "bad-label", label="卫生计生") == 422
    accept = EventIn(event_id="acc-label", type="accept", label="交通运输")
    with pytest.raises(OutcomeInvalid, match="only with a reassign"):
        await handle_event(
            stated,
            accept,
            Actor("department", review[0]["department"]),
            store=api.store,
            producer=api.app[PRODUCER],
            registry=api.app[REGISTRY],
            topics=api.settings.topics,
        )
    assert await dispatch(stated, "say-label", label="交通运输") == 200
    assert await dispatch(unstated, "no-label") == 200
    for ticket_id in (stated, unstated):
        await act(api, ticket_id, [("accept", bureau)])
    shown = await call("GET", f"/v1/tickets/{stated}", "supervisor")
    assert shown.body["assignments"][-1]["label"] == "交通运输"

    out = tmp_path / "outcomes.jsonl"
    _, rows = _export(api, out)
    assert rows[stated]["label"] == "交通运输"
    doc = await api.store.get(unstated)
    top = sorted(doc["decisions"][0]["top_k"], key=lambda s: -s["probability"])
    ranked = [s["label"] for s in top if s["label"] in ("环境保护", "交通运输")]
    first = doc["first_label"]
    want = first if first in ("环境保护", "交通运输") else (ranked or ["环境保护"])[0]
    assert rows[unstated]["label"] == want
