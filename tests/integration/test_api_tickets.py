"""Tickets and outcome events over HTTP, against the real servers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.integration.api import Api

pytestmark = pytest.mark.integration


async def _routed(api: Api, department: str) -> dict[str, Any]:
    docs = await api.seed(200)
    return next(d for d in docs if d["status"] == "routed" and d["department"] == department)


async def test_get_ticket_with_decisions_and_timeline(api: Api) -> None:
    """The ticket comes back masked, with its decision (model version) and its timeline."""
    docs = await api.seed(10)
    r = await api.client.call("GET", f"/v1/tickets/{docs[0]['_id']}", "agent")
    assert r.status == 200
    assert r.body["decisions"][0]["model_version"] == "v1"
    assert r.body["timeline"][0]["by"] == "triage"
    missing = await api.client.call("GET", "/v1/tickets/nope", "supervisor")
    assert missing.status == 404


async def test_department_sees_own_tickets_only(api: Api) -> None:
    """A department token reads its tickets, gets 403 for others' and lists only its own."""
    mine = await _routed(api, "city-housing")
    assert (await api.client.call("GET", f"/v1/tickets/{mine['_id']}", "housing")).status == 200
    other = await api.client.call("GET", f"/v1/tickets/{mine['_id']}", "transport")
    assert other.status == 403
    page = await api.client.call("GET", "/v1/tickets?limit=200", "housing")
    assert page.body["items"]
    assert {t["department"] for t in page.body["items"]} == {"city-housing"}
    refused = await api.client.call("GET", "/v1/tickets?department=city-transport", "housing")
    assert refused.status == 403
    trainer = await api.client.call("GET", f"/v1/tickets/{mine['_id']}", "trainer")
    assert trainer.status == 403


async def test_list_pages_through_every_ticket(api: Api) -> None:
    """Paging with `next` visits every ticket once; bad query values are 422 with the field."""
    await api.seed(25)
    seen: list[str] = []
    after = ""
    while True:
        r = await api.client.call("GET", f"/v1/tickets?limit=10{after}", "agent")
        seen += [t["ticket_id"] for t in r.body["items"]]
        if r.body["next"] is None:
            break
        after = f"&after={r.body['next']}"
    assert len(seen) == len(set(seen)) == 25
    bad = await api.client.call("GET", "/v1/tickets?limit=0", "agent")
    assert (bad.status, bad.body["error"]["field"]) == (422, "limit")
    bad = await api.client.call("GET", "/v1/tickets?status=lost", "agent")
    assert (bad.status, bad.body["error"]["field"]) == (422, "status")


async def test_accept_resolve_and_idempotency(api: Api) -> None:
    """Accept then resolve; the same event_id again is a duplicate that changes nothing."""
    t = await _routed(api, "city-housing")
    path = f"/v1/tickets/{t['_id']}/events"
    r = await api.client.call(
        "POST", path, "housing", json_body={"event_id": "e1", "type": "accept"}
    )
    assert (r.status, r.body["status"], r.body["duplicate"]) == (200, "accepted", False)
    again = await api.client.call(
        "POST", path, "housing", json_body={"event_id": "e1", "type": "accept"}
    )
    assert (again.status, again.body["duplicate"]) == (200, True)
    r = await api.client.call(
        "POST", path, "housing", json_body={"event_id": "e2", "type": "resolve"}
    )
    assert r.body["status"] == "resolved"
    late = await api.client.call(
        "POST", path, "housing", json_body={"event_id": "e3", "type": "return", "reason": "x"}
    )
    assert late.status == 409
    ticket = await api.client.call("GET", f"/v1/tickets/{t['_id']}", "agent")
    assert [s["status"] for s in ticket.body["timeline"]] == ["routed", "accepted", "resolved"]
    assert await api.store.events.count_documents({"ticket_id": t["_id"]}) == 2


async def test_return_then_reassign_publishes_to_new_department(api: Api) -> None:
    """退单 with a reason, then an agent reassigns: the ticket lands on the new topic."""
    t = await _routed(api, "city-housing")
    path = f"/v1/tickets/{t['_id']}/events"
    wrong = await api.client.call(
        "POST", path, "housing", json_body={"event_id": "r0", "type": "resolve"}
    )
    assert wrong.status == 409
    body = {
        "event_id": "r1",
        "type": "return",
        "reason": "不属于本部门",
        "suggested_department": "city-transport",
    }
    r = await api.client.call("POST", path, "housing", json_body=body)
    assert r.body["status"] == "returned"
    resolve = await api.client.call(
        "POST", path, "housing", json_body={"event_id": "r2", "type": "resolve"}
    )
    assert resolve.status == 409
    assert "returned" in resolve.body["error"]["message"]
    unknown = await api.client.call(
        "POST", path, "agent", json_body={"event_id": "r3", "type": "reassign", "department": "x"}
    )
    assert (unknown.status, unknown.body["error"]["field"]) == (422, "department")
    r = await api.client.call(
        "POST",
        path,
        "agent",
        json_body={"event_id": "r4", "type": "reassign", "department": "city-transport"},
    )
    assert (r.status, r.body["status"], r.body["department"]) == (
        200,
        "reassigned",
        "city-transport",
    )
    assignment = r.body["assignment_id"]
    # The new department now owns it and may accept it; the old one no longer sees it.
    assert (await api.client.call("GET", f"/v1/tickets/{t['_id']}", "housing")).status == 403
    ok = await api.client.call(
        "POST", path, "transport", json_body={"event_id": "r5", "type": "accept"}
    )
    assert ok.body["status"] == "accepted"
    consumer = AIOKafkaConsumer(bootstrap_servers=api.settings.kafka_bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(api.settings.topics.routed("city-transport"), 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        batch = await consumer.getmany(tp, timeout_ms=5000)
        values = [json.loads(m.value) for m in batch.get(tp, [])]
    finally:
        await consumer.stop()
    assert [v["assignment_id"] for v in values] == [assignment]
    assert values[0]["ticket_id"] == t["_id"]


async def test_event_refusals_and_roles(api: Api) -> None:
    """Wrong roles are 403, bad bodies 400/415/422, unknown tickets 404, reused ids 409."""
    t = await _routed(api, "city-housing")
    path = f"/v1/tickets/{t['_id']}/events"
    call = api.client.call
    accept = {"event_id": "x1", "type": "accept"}
    assert (await call("POST", path, "agent", json_body=accept)).status == 403
    # Refused on the ticket's state, which the id then names (ids are hotline-wide): another.
    other = {"event_id": "x1-transport", "type": "accept"}
    assert (await call("POST", path, "transport", json_body=other)).status == 403
    assert (await call("POST", path, "supervisor", json_body=accept)).status == 403
    assert (await call("POST", path, None, json_body=accept)).status == 401
    reassign = {"event_id": "x2", "type": "reassign", "department": "city-transport"}
    assert (await call("POST", path, "housing", json_body=reassign)).status == 403
    bad = await call("POST", path, "housing", json_body={"event_id": "x3", "type": "close"})
    assert (bad.status, bad.body["error"]["field"]) == (422, "type")
    no_reason = await call("POST", path, "housing", json_body={"event_id": "x4", "type": "return"})
    assert (no_reason.status, no_reason.body["error"]["field"]) == (422, "reason")
    assert (
        await call("POST", path, "housing", data=b"{", headers={"Content-Type": "application/json"})
    ).status == 400
    assert (await call("POST", path, "housing", data=b"{}")).status == 415
    missing = await call("POST", "/v1/tickets/none/events", "agent", json_body=reassign)
    assert missing.status == 404
    assert (await call("POST", path, "housing", json_body=accept)).status == 200
    reused = await call("POST", path, "housing", json_body={"event_id": "x1", "type": "resolve"})
    assert reused.status == 409


async def test_departments_for_every_role(api: Api) -> None:
    """Every role reads the registry, with each department's routed topic."""
    for role in ("agent", "supervisor", "trainer", "housing"):
        r = await api.client.call("GET", "/v1/departments", role)
        assert r.status == 200
        codes = {d["code"] for d in r.body["departments"]}
        assert "city-housing" in codes
    assert (await api.client.call("GET", "/v1/departments")).status == 401
