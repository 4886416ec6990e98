"""`GET /v1/me`, `GET /v1/review` and the first timeline entry, against the real servers."""

from __future__ import annotations

import pytest

from tests.integration.api import Api

pytestmark = pytest.mark.integration


async def test_me_names_the_role_and_department(api: Api) -> None:
    """Every role may ask who it is; a department learns its code and Chinese name."""
    agent = await api.client.call("GET", "/v1/me", "agent")
    assert agent.body == {"role": "agent", "department": None, "department_name": None}
    housing = await api.client.call("GET", "/v1/me", "housing")
    assert housing.body["department"] == "city-housing"
    assert housing.body["department_name"] == "佛山市住房和城乡建设局"
    assert (await api.client.call("GET", "/v1/me", "trainer")).body["role"] == "trainer"
    assert (await api.client.call("GET", "/v1/me?x=1", "agent")).status == 422
    assert (await api.client.call("GET", "/v1/me", None)).status == 401


async def test_review_queue_lists_review_and_returned_oldest_first(api: Api) -> None:
    """The agent's queue holds the review tickets and a returned one, oldest clock first;
    departments and trainers may not read it."""
    docs = await api.seed(60)
    review = {d["_id"] for d in docs if d["status"] == "review"}
    owners = {"city-housing": "housing", "city-transport": "transport"}
    owners["city-environment"] = "environment"
    routed = next(d for d in docs if d["status"] == "routed" and d["department"] in owners)
    body = {"event_id": "desk-r1", "type": "return", "reason": "不属于本部门职责"}
    path = f"/v1/tickets/{routed['_id']}/events"
    r = await api.client.call("POST", path, owners[routed["department"]], json_body=body)
    assert r.status == 200
    review.add(routed["_id"])
    q = await api.client.call("GET", "/v1/review", "agent")
    assert q.status == 200
    assert {t["ticket_id"] for t in q.body["tickets"]} == review
    since = [t["waiting_since"] for t in q.body["tickets"]]
    assert since == sorted(since)
    assert all(t["title"] for t in q.body["tickets"])
    assert (await api.client.call("GET", "/v1/review", "housing")).status == 403
    assert (await api.client.call("GET", "/v1/review", "trainer")).status == 403


async def test_timeline_starts_with_the_first_department(api: Api) -> None:
    """A routed ticket's first timeline entry names the department it was routed to."""
    docs = await api.seed(20)
    routed = next(d for d in docs if d["status"] == "routed")
    r = await api.client.call("GET", f"/v1/tickets/{routed['_id']}", "supervisor")
    first = r.body["timeline"][0]
    assert first["status"] == "routed"
    assert first["department"] == routed["department"] is not None
