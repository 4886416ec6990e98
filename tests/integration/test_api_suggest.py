"""`POST /v1/suggest`, errors and access, against the real servers."""

from __future__ import annotations

import pytest

from tests.integration.api import Api

pytestmark = pytest.mark.integration

TEXT = {
    "title": "路灯不亮",
    "body": "小区路灯坏了三天，物业不管，电话13800138000",
    "location": "禅城区",
}


async def test_suggest_ranks_explains_and_decides(api: Api) -> None:
    """Top-k with confidence, evidence spans that point into the masked text, and the verdict."""
    r = await api.client.call("POST", "/v1/suggest", "agent", json_body={**TEXT, "k": 3})
    assert r.status == 200
    body = r.body
    assert len(body["suggestions"]) == 3
    assert body["suggestions"][0]["label"] == "城乡建设"
    assert body["route"] in ("routed", "review")
    assert body["model_version"] == "v1"
    assert "13800138000" not in body["text"]["body"]
    for e in body["evidence"]:
        for s in e["spans"]:
            assert body["text"][s["field"]][s["start"] : s["end"]] == e["term"]


async def test_suggest_roles(api: Api) -> None:
    """Agents and supervisors may ask; departments and trainers get 403; no token 401."""
    for role, status in (("supervisor", 200), ("housing", 403), ("trainer", 403), (None, 401)):
        r = await api.client.call("POST", "/v1/suggest", role, json_body=TEXT)
        assert r.status == status, role


async def test_suggest_bad_input(api: Api) -> None:
    """Malformed JSON 400, wrong type 415, missing or bad fields 422 naming the field, 413."""
    call = api.client.call
    r = await call(
        "POST",
        "/v1/suggest",
        "agent",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status == 400
    r = await call(
        "POST", "/v1/suggest", "agent", data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert r.status == 415
    r = await call("POST", "/v1/suggest", "agent", json_body={"title": "x"})
    assert r.status == 422
    r = await call("POST", "/v1/suggest", "agent", json_body={"body": "x", "k": 99})
    assert (r.status, r.body["error"]["field"]) == (422, "k")
    r = await call("POST", "/v1/suggest", "agent", json_body={"body": "   "})
    assert (r.status, r.body["error"]["field"]) == (422, "body")
    r = await call("POST", "/v1/suggest", "agent", json_body={"body": "噪" * 40_000})
    assert r.status == 413
    r = await call("GET", "/v1/suggest", "agent")
    assert r.status == 405


async def test_unknown_paths_and_docs(api: Api) -> None:
    """Unknown paths are JSON 404s; /openapi.json is open and lists the API's paths."""
    r = await api.client.call("GET", "/nowhere")
    assert r.status == 404
    r = await api.client.call("GET", "/openapi.json")
    doc = r.body
    assert {"/v1/suggest", "/v1/tickets/{ticket_id}/events", "/v1/models"} <= set(doc["paths"])
    assert doc["openapi"].startswith("3.")
