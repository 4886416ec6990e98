"""The service image as a user gets it: built from ``git archive`` with buildah (stand-in base
images, scripts/image.py), run with podman on the host network against the session's own Kafka
and SecantusDB, with the model shipped in the image. Every line a container prints must be JSON.

``TRIAGE_IMAGE_REF`` builds another commit than HEAD (e.g. one from ``git stash create``)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from scripts import image
from streams.replay import replay
from tests.image.podman import Container, Containers, remove_leftovers, wait_http
from tests.servers import KafkaServer, MongoServer
from tests.tickets import ticket_lines
from triage.adapters import stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.image]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
CHROMIUM = "/usr/bin/chromium"
TAG = "localhost/hotline-triage:test"
SUPERVISOR, AGENT = "image-supervisor-0123456789", "image-agent-0123456789"
UID = 10001  # the image's user; the tokens file must be readable by it (README)
GRACE = 30  # deploy/docker-compose.yml's stop_grace_period
CHARTS = ("chart-volume", "chart-departments", "chart-accuracy", "chart-resolve", "chart-ages")


@pytest.fixture(scope="session")
def built() -> str:
    """The image, built once per session from the committed tree."""
    ref = os.environ.get("TRIAGE_IMAGE_REF", "HEAD")
    remove_leftovers()
    seconds = image.build(TAG, ref, log=print)
    print(f"image {TAG} built from {ref} in {seconds:.0f} s")
    return TAG


@pytest.fixture
def containers(built: str) -> Iterator[Containers]:
    running = Containers(built)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="session")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tokens file as the README says to make one: owned by uid 10001, mode 600."""
    path = tmp_path_factory.mktemp("image") / "tokens.toml"
    path.write_text(
        f'[[tokens]]\ntoken = "{SUPERVISOR}"\nrole = "supervisor"\n'
        f'[[tokens]]\ntoken = "{AGENT}"\nrole = "agent"\n'
    )
    os.chown(path, UID, UID)
    path.chmod(0o600)
    return path


def _env(kafka: KafkaServer, mongo: MongoServer, prefix: str, port: int) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "MONGODB_URI": mongo.uri,
        "TRIAGE_DB": prefix,
        "TRIAGE_TOPIC_PREFIX": prefix,
        "TRIAGE_GROUP_ID": f"triage-{prefix}",
        "TRIAGE_HTTP_PORT": str(port),
        "TRIAGE_TOKENS_FILE": "/run/triage/tokens.toml",
        "TRIAGE_SESSION_TIMEOUT_MS": "6000",
        "TRIAGE_HEARTBEAT_INTERVAL_MS": "1000",
    }


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status), bytes(response.read())


async def _counts(uri: str, db: str) -> tuple[int, int]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        return (
            await client[db].tickets.count_documents({}),
            await client[db].deadletters.count_documents({}),
        )
    finally:
        await client.close()


async def _wait_counts(uri: str, db: str, want: tuple[int, int], within: float) -> None:
    deadline = time.monotonic() + within
    got = (-1, -1)
    while time.monotonic() < deadline:
        got = await _counts(uri, db)
        if got == want:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"stored {got}, expected {want}")


@dataclass(frozen=True)
class Deployment:
    """One container on a port other than the default, with the samples replayed into it."""

    container: Container
    url: str
    port: int


@pytest.fixture(scope="module")
def deployment(
    built: str, kafka_server: KafkaServer, mongo_server: MongoServer, tokens: Path
) -> Iterator[Deployment]:
    running = Containers(built)
    prefix = f"img{uuid.uuid4().hex[:8]}"
    port = stack.free_port()
    env = _env(kafka_server, mongo_server, prefix, port)
    mounts = [(tokens, "/run/triage/tokens.toml")]
    try:
        container = running.run(env, mounts)
        url = f"http://127.0.0.1:{port}"
        seconds = wait_http(url + "/healthz", container)
        print(f"/healthz answered {seconds:.1f} s after the container started")
        wait_http(url + "/readyz", container)
        # The image's own `triage replay`, with the samples mounted: 280 tickets, 12 malformed.
        publisher = {k: v for k, v in env.items() if k != "TRIAGE_TOKENS_FILE"}
        for name in ("tickets.jsonl", "malformed.jsonl"):
            running.run(
                publisher,
                [(SAMPLES / name, f"/samples/{name}")],
                entrypoint="triage",
                args=["replay", f"/samples/{name}"],
                detach=False,
            )
        asyncio.run(_wait_counts(mongo_server.uri, prefix, (280, 12), within=180))
        yield Deployment(container, url, port)
        container.log_lines()  # fails on any line that is not JSON
    finally:
        running.close()


def test_health_and_readiness_answer(deployment: Deployment) -> None:
    """/healthz and /readyz answer 200 on the configured, non-default port."""
    assert deployment.port != 8080
    assert _get(deployment.url + "/healthz")[0] == 200
    status, body = _get(deployment.url + "/readyz")
    assert status == 200, body


def test_every_asset_the_page_loads_is_served(deployment: Deployment) -> None:
    """Each file index.html loads answers 200 with content (ECharts from the Node stage)."""
    status, page = _get(deployment.url + "/")
    assert status == 200
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.decode())
    assert "/static/echarts.min.js" in assets
    for asset in assets:
        status, body = _get(deployment.url + asset)
        assert status == 200 and len(body) > 100, asset


def _draw_charts(url: str) -> dict[str, Any]:
    # Playwright's synchronous API in a thread of its own: it must not meet pytest-asyncio's
    # event loop in the main thread.
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "/")
            page.fill("#token", SUPERVISOR)
            page.click("#controls button[type=submit]")
            expect(page.locator("#status")).to_contain_text("更新于", timeout=30_000)
            drawn: dict[str, Any] = page.evaluate(
                """ids => Object.fromEntries(ids.map(id => {
                    const el = document.getElementById(id);
                    const chart = window.echarts && echarts.getInstanceByDom(el);
                    return [id, Boolean(chart && el.querySelector('canvas'))];
                }))""",
                list(CHARTS),
            )
            # Series 0 and 1: routed and review tickets per day (as tests/browser reads them).
            volume = page.evaluate(
                "() => echarts.getInstanceByDom(document.getElementById('chart-volume'))"
                ".getOption().series.slice(0, 2).flatMap(s => s.data)"
                ".reduce((a, v) => a + (v || 0), 0)"
            )
            return {"drawn": drawn, "volume": volume, "errors": errors}
        finally:
            browser.close()


async def test_dashboard_draws_every_chart(deployment: Deployment) -> None:
    """In Chromium, all five charts are drawn, the volume chart counting the replayed tickets."""
    seen = await asyncio.to_thread(_draw_charts, deployment.url)
    assert seen["errors"] == []
    assert seen["drawn"] == dict.fromkeys(CHARTS, True)
    assert seen["volume"] == 280


def test_suggest_answers_with_the_shipped_model(deployment: Deployment) -> None:
    """An agent's suggest request is answered by the model in the image."""
    body = json.dumps({"title": "噪音扰民", "body": "小区旁边工地夜间施工噪音扰民"}).encode()
    request = urllib.request.Request(  # noqa: S310
        deployment.url + "/v1/suggest",
        data=body,
        headers={"Authorization": f"Bearer {AGENT}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer = json.loads(response.read())
    assert response.status == 200
    assert answer["model_version"] and answer["suggestions"]
    assert answer["suggestions"][0]["department"]


def test_replayed_samples_are_counted(deployment: Deployment) -> None:
    """The replayed samples are in the statistics: 280 tickets, 12 dead letters."""
    status, body = _get(deployment.url + "/v1/stats/summary", SUPERVISOR)
    summary = json.loads(body)
    assert status == 200
    assert summary["tickets"] == 280
    assert summary["deadletters"]["total"] == 12


def test_healthcheck_reads_the_configured_port(deployment: Deployment) -> None:
    """The image's HEALTHCHECK passes on a non-default TRIAGE_HTTP_PORT."""
    result = deployment.container.healthcheck()
    assert result.returncode == 0, result.stdout + result.stderr


async def _committed(bootstrap: str, group: str, topic: str) -> int:
    """The sum over partitions of the group's committed offsets on ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


def _consumed(container: Container) -> int:
    return sum(line["size"] for line in container.events("batch committed"))


async def test_sigterm_mid_stream_commits_and_a_restart_takes_only_the_rest(
    containers: Containers,
    kafka_server: KafkaServer,
    mongo_server: MongoServer,
    tokens: Path,
) -> None:
    """`podman stop` mid-stream: exit 0 within the grace period, everything consumed is
    committed, and a new container processes exactly the messages left uncommitted."""
    # Enough that a quiet machine is still consuming when the stop arrives (3,000 were all
    # consumed before `podman stop` took effect once routing stopped doing hot-spot work).
    n = 20_000
    prefix = f"img{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}.tickets"
    env = {
        **_env(kafka_server, mongo_server, prefix, stack.free_port()),
        "TRIAGE_BATCH_SIZE": "50",
    }
    mounts = [(tokens, "/run/triage/tokens.toml")]
    assert await replay(ticket_lines(n), bootstrap=kafka_server.bootstrap, topic=topic) == n
    first = containers.run(env, mounts, args=["--no-http"])
    deadline = time.monotonic() + 180
    while not first.events("batch committed"):
        assert time.monotonic() < deadline, first.logs()
        assert first.state()["Running"], first.logs()
        await asyncio.sleep(0.2)
    seconds = await asyncio.to_thread(first.stop, GRACE)
    state = first.state()
    assert state["ExitCode"] == 0, first.logs()
    assert seconds < GRACE, f"stopped in {seconds:.1f} s"
    committed = await _committed(kafka_server.bootstrap, f"triage-{prefix}", topic)
    assert committed == _consumed(first), "everything consumed before the stop was committed"
    assert 0 < committed < n, f"stopped mid-stream ({committed} of {n})"
    print(f"SIGTERM: exit 0 in {seconds:.1f} s with {committed} of {n} committed")
    assert first.events("consumer stopped")

    second = containers.run(env, mounts, args=["--no-http"])
    await _wait_counts(mongo_server.uri, prefix, (n, 0), within=300)
    deadline = time.monotonic() + 60
    while await _committed(kafka_server.bootstrap, f"triage-{prefix}", topic) < n:
        assert time.monotonic() < deadline, second.logs()
        await asyncio.sleep(0.5)
    assert _consumed(second) == n - committed
    second.log_lines()


def test_unreadable_tokens_file_stops_with_the_reason(
    containers: Containers,
    kafka_server: KafkaServer,
    mongo_server: MongoServer,
    tmp_path: Path,
) -> None:
    """A tokens file uid 10001 cannot read stops the container at once with a JSON line naming
    the variable and the reason, instead of a silent restart loop."""
    unreadable = tmp_path / "tokens.toml"
    unreadable.write_text(f'[[tokens]]\ntoken = "{SUPERVISOR}"\nrole = "supervisor"\n')
    unreadable.chmod(0o600)  # owned by root
    env = _env(kafka_server, mongo_server, f"img{uuid.uuid4().hex[:8]}", stack.free_port())
    container = containers.run(env, [(unreadable, "/run/triage/tokens.toml")])
    deadline = time.monotonic() + 120
    while container.state()["Running"]:
        assert time.monotonic() < deadline, container.logs()
        time.sleep(0.5)
    assert container.state()["ExitCode"] == 2
    [line] = container.events("bad settings")
    assert line["variable"] == "TRIAGE_TOKENS_FILE"
    assert "Permission denied" in line["problem"]
