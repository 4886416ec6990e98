"""Event ids over HTTP against the real servers: a retried refusal gets the first answer, an
id reused with other content is 409 for every event type, and the ticket list refuses
parameters it does not take."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.api import Api, Reply

pytestmark = pytest.mark.integration


async def _routed(api: Api, department: str, n: int) -> list[dict[str, Any]]:
    docs = await api.seed(200)
    return [d for d in docs if d["status"] == "routed" and d["department"] == department][:n]


async def _with_housing(api: Api, n: int) -> list[dict[str, Any]]:
    """``n`` tickets from review, reassigned by an agent to city-housing."""
    docs = [d for d in await api.seed(200) if d["status"] == "review"][:n]
    for i, doc in enumerate(docs):
        moved = await _post(
            api,
            doc["_id"],
            "agent",
            event_id=f"setup{i}",
            type="reassign",
            department="city-housing",
        )
        assert moved.status == 200
    return docs


async def _post(api: Api, ticket: str, role: str, **body: str) -> Reply:
    return await api.client.call("POST", f"/v1/tickets/{ticket}/events", role, json_body=body)


async def _timeline(api: Api, ticket: str) -> list[tuple[str, str | None]]:
    r = await api.client.call("GET", f"/v1/tickets/{ticket}", "agent")
    return [(s["status"], s["event_id"]) for s in r.body["timeline"]]


async def test_retried_refusal_gets_the_first_answer_whatever_the_ticket_became(api: Api) -> None:
    """409, 403, 422 and 404 refusals retried after the ticket moved on answer the same status
    and body; the ticket, its timeline and the statistics count only the applied events."""
    (t,) = await _routed(api, "city-housing", 1)
    tid = t["_id"]
    refused = {
        "resolve": await _post(api, tid, "housing", event_id="h1", type="resolve"),
        "transport": await _post(api, tid, "transport", event_id="h2", type="accept"),
        "nowhere": await _post(api, "no-such-ticket", "housing", event_id="h3", type="accept"),
    }
    assert [r.status for r in refused.values()] == [409, 403, 404]
    accepted = await _post(api, tid, "housing", event_id="h4", type="accept")
    assert (accepted.status, accepted.body["status"]) == (200, "accepted")
    # A return needs a reason: refused as invalid, though a return is legal now.
    invalid = await _post(api, tid, "housing", event_id="h5", type="return")
    assert (invalid.status, invalid.body["error"]["field"]) == (422, "reason")
    retries = {
        "resolve": await _post(api, tid, "housing", event_id="h1", type="resolve"),
        "transport": await _post(api, tid, "transport", event_id="h2", type="accept"),
        "nowhere": await _post(api, "no-such-ticket", "housing", event_id="h3", type="accept"),
    }
    for name, first in refused.items():
        assert (retries[name].status, retries[name].body) == (first.status, first.body), name
    again = await _post(api, tid, "housing", event_id="h5", type="return")
    assert (again.status, again.body) == (invalid.status, invalid.body)
    # The resolve is legal now, under a new id only.
    assert (await _post(api, tid, "housing", event_id="h6", type="resolve")).status == 200
    assert await _timeline(api, tid) == [("routed", None), ("accepted", "h4"), ("resolved", "h6")]
    assert await api.store.events.count_documents({"ticket_id": tid}) == 2
    kinds = {d["_id"]: d["kind"] for d in await api.store.refusals.find({}).to_list()}
    assert kinds == {"h1": "conflict", "h2": "forbidden", "h3": "not_found", "h5": "invalid"}
    summary: dict[str, Any] = {}
    for _ in range(50):  # the statistics read a copy of the counters, caught up within a second
        summary = (await api.client.call("GET", "/v1/stats/summary", "supervisor")).body
        if summary["events"]["resolve"] == 1:
            break
        await asyncio.sleep(0.1)
    assert summary["events"] == {"accept": 1, "return": 0, "resolve": 1, "reassign": 0}


async def test_event_id_reused_with_other_content_is_409_for_every_type(api: Api) -> None:
    """accept, resolve, return and reassign each sent again under a used id with another
    field changed: 409, the ticket unchanged; the same content again stays a duplicate."""
    a, b, c = await _with_housing(api, 3)
    cases: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
        (a["_id"], "housing", {"type": "accept"}, {"type": "accept", "reason": "已联系"}),
        (
            a["_id"],
            "housing",
            {"type": "resolve", "reason": "已修复"},
            {"type": "resolve", "reason": "已回访"},
        ),
        (
            b["_id"],
            "housing",
            {"type": "return", "reason": "非本单位职责", "suggested_department": "city-water"},
            {"type": "return", "reason": "非本单位职责", "suggested_department": "city-transport"},
        ),
        (
            b["_id"],
            "agent",
            {"type": "reassign", "department": "city-water"},
            {"type": "reassign", "department": "city-transport"},
        ),
        # A refused event's id, sent for another event type.
        (c["_id"], "housing", {"type": "resolve"}, {"type": "accept"}),
    ]
    for i, (ticket, role, first, other) in enumerate(cases):
        event_id = f"u{i}"
        done = await _post(api, ticket, role, event_id=event_id, **first)
        before = await api.client.call("GET", f"/v1/tickets/{ticket}", "agent")
        reused = await _post(api, ticket, role, event_id=event_id, **other)
        assert (reused.status, reused.body["error"]["code"]) == (409, "conflict"), first
        assert "already used" in reused.body["error"]["message"]
        after = await api.client.call("GET", f"/v1/tickets/{ticket}", "agent")
        assert after.body == before.body
        same = await _post(api, ticket, role, event_id=event_id, **first)
        expected = {**done.body, "duplicate": True} if done.status == 200 else done.body
        assert (same.status, same.body) == (done.status, expected)
    moved = await api.client.call("GET", f"/v1/tickets/{b['_id']}", "agent")
    assert (moved.body["status"], moved.body["department"]) == ("reassigned", "city-water")
    assert [x["event_id"] for x in moved.body["assignments"]] == ["setup1", "u3"]


async def test_ticket_list_refuses_an_unknown_parameter_like_the_other_routes(api: Api) -> None:
    """A misspelt filter on GET /v1/tickets is 422 naming it, in the stats routes' shape."""
    await api.seed(5)
    typo = await api.client.call("GET", "/v1/tickets?departmnet=city-housing", "agent")
    stats = await api.client.call("GET", "/v1/stats/summary?departmnet=x", "supervisor")
    assert (typo.status, stats.status) == (422, 422)
    assert typo.body["error"]["field"] == stats.body["error"]["field"] == "departmnet"
    assert set(typo.body["error"]) == set(stats.body["error"]) == {"code", "message", "field"}
    assert typo.body["error"]["code"] == stats.body["error"]["code"] == "invalid"
    known = await api.client.call("GET", "/v1/tickets?department=city-housing&limit=5", "agent")
    assert known.status == 200
