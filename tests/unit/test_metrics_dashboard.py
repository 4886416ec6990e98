"""Prometheus metrics and the dashboard's static files, on bare aiohttp apps (no servers)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streams.batch import Message, plan_batch
from tests.fakes import analyzer
from triage.adapters.registry_file import load_registry
from triage.core.settings import Settings
from triage.service import dashboard
from triage.service.metrics import Metrics, install

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


async def _client(app: web.Application) -> TestClient[web.Request, web.Application]:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def metrics_client() -> AsyncIterator[
    tuple[TestClient[web.Request, web.Application], Metrics]
]:
    app = web.Application()
    metrics = install(app)

    async def thing(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"]})

    app.router.add_get("/v1/things/{id}", thing)
    client = await _client(app)
    try:
        yield client, metrics
    finally:
        await client.close()


async def test_batch_outcomes_and_dead_letter_reasons_are_counted() -> None:
    """A committed batch counts routed, review and dead letters, and reasons by kind."""
    good = SAMPLES.joinpath("tickets.jsonl").read_bytes().splitlines()[:20]
    bad = SAMPLES.joinpath("malformed.jsonl").read_bytes().split(b"\n")[:-1]
    messages = [Message("t.tickets", 0, i, None, v) for i, v in enumerate(good + bad)]
    plan = await plan_batch(
        messages, analyzer=analyzer(), registry=load_registry(), settings=Settings(topic_prefix="t")
    )
    metrics = Metrics()
    metrics.batch_committed(plan, 0.2)
    text = metrics.exposition().decode()
    routed = sum(1 for r in plan.records if r.decision.kind == "routed")
    assert f'triage_tickets_total{{outcome="routed"}} {float(routed)}' in text
    assert f'triage_tickets_total{{outcome="deadletter"}} {float(len(bad))}' in text
    assert 'triage_deadletters_total{reason="schema"}' in text
    assert "triage_batch_seconds_count 1.0" in text
    # Reasons are grouped into kinds: positions and lengths never become label values.
    kinds = set(re.findall(r'triage_deadletters_total\{reason="([^"]*)"\}', text))
    assert kinds == {"invalid JSON", "schema", "body too long", "not UTF-8"}


def test_lag_gauge_is_set_and_forgotten_on_revoke() -> None:
    """Lag per partition is reported, and dropped when the partition moves away."""
    metrics = Metrics()
    metrics.partition_lag("t.tickets", 0, 42)
    metrics.partition_lag("t.tickets", 1, 0)
    text = metrics.exposition().decode()
    assert 'triage_consumer_lag{partition="0",topic="t.tickets"} 42.0' in text
    metrics.partitions_revoked([("t.tickets", 0), ("t.tickets", 7)])
    text = metrics.exposition().decode()
    assert 'partition="0"' not in text and 'partition="1"' in text


async def test_metrics_endpoint_times_requests_by_route_template(
    metrics_client: tuple[TestClient[web.Request, web.Application], Metrics],
) -> None:
    """GET /metrics is plain text; request latency is labelled by template, not raw path."""
    client, _ = metrics_client
    assert (await client.get("/v1/things/FS-1")).status == 200
    assert (await client.get("/nowhere")).status == 404
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert 'route="/v1/things/{id}"' in text and "FS-1" not in text
    assert 'route="unmatched",status="404"' in text


def test_two_apps_have_separate_registries() -> None:
    """Metrics live in a registry per app: a second app starts from zero."""
    first, second = Metrics(), Metrics()
    first.partition_lag("x", 0, 5)
    assert b"triage_consumer_lag{" not in second.exposition()


@pytest.fixture
async def dashboard_client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    dashboard.add_routes(app)
    client = await _client(app)
    try:
        yield client
    finally:
        await client.close()


async def test_dashboard_page_and_assets_are_served(
    dashboard_client: TestClient[web.Request, web.Application],
) -> None:
    """/ is the HTML page; its script and stylesheet come from /static with a strict CSP."""
    page = await dashboard_client.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = await page.text()
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        asset = await dashboard_client.get(f"/static/{name}")
        assert asset.status == 200 and asset.content_type == kind
        assert f"/static/{name}" in html
    assert (await dashboard_client.get("/static/..%2Fstats.py")).status == 404
    assert (await dashboard_client.get("/static/nothing.js")).status == 404


async def test_dashboard_loads_only_local_scripts_styles_and_fonts(
    dashboard_client: TestClient[web.Request, web.Application],
) -> None:
    """No CDN: every src/href of the page and every url() is a path on our own server."""
    html = await (await dashboard_client.get("/")).text()
    css = await (await dashboard_client.get("/static/dashboard.css")).text()
    js = await (await dashboard_client.get("/static/dashboard.js")).text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/static/") for ref in refs)
    assert "url(" not in css and "@import" not in css
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html + css + js)


async def test_hotspots_panel_script_is_served_and_local(
    dashboard_client: TestClient[web.Request, web.Application],
) -> None:
    """The hot-spots panel's script is on the page, served from /static, and calls only our API."""
    html = await (await dashboard_client.get("/")).text()
    asset = await dashboard_client.get("/static/hotspots.js")
    assert asset.status == 200 and asset.content_type == "text/javascript"
    assert "/static/hotspots.js" in html
    js = await asset.text()
    assert "/v1/hotspots" in js and "innerHTML" not in js
    assert not re.search(r"https?://", js)
