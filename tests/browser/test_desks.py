"""The three desks doing their real work in Debian's Chromium, against `python -m triage serve`
on the real servers: an agent dispatches from the review queue, a department returns and
accepts, a supervisor opens a hot spot and a ticket from it. Each test fails on a console
error, an HTTP error the page met, a raw id shown as a title, or a code where staff read."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.browser.conftest import dashboard_server, screenshot
from tests.fakes import analyzer as fake_analyzer
from tests.servers import KafkaServer, MongoServer
from tests.tickets import ticket_lines
from tests.unit.test_hotspots import BACKGROUND, LIFA
from triage.adapters.registry_file import load_registry
from triage.core.outcomes import STATUSES

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SUPERVISOR, AGENT = "desk-supervisor-0123456789", "desk-agent-0123456789"
DEPARTMENT = "desk-department-0123456789"
N_TICKETS = 40
REGISTRY = load_registry()
# What staff must never read: ticket and hot-spot ids as titles; codes as words.
RAW_ID = re.compile(r"^(?:hs-[0-9a-f]{8,}|[A-Za-z]{1,4}-\d{6,}-\d+|[a-z]{2}-\d+)$")
CODES = re.compile(
    r"(?<![A-Za-z0-9-])(?:"
    + "|".join(
        [*STATUSES, "phone", "wechat", "web", "app", "null", "undefined"]
        + [re.escape(d.code) for d in REGISTRY.departments]
        + [re.escape(d.code) for d in REGISTRY.districts]
    )
    + r")(?![A-Za-z0-9-])"
)


@dataclass(frozen=True)
class Desks:
    url: str
    department: str
    prefix: str


def _messages() -> list[Any]:
    from streams.batch import Message

    lines = list(ticket_lines(N_TICKETS))
    for i, (title, body) in enumerate([*BACKGROUND, *LIFA]):
        ticket = {
            "ticket_id": f"HS-20261112-{i:06d}",
            "received_at": f"2026-11-12T{8 + i % 10:02d}:{i % 60:02d}:00+08:00",
            "channel": "wechat",
            # Half untitled, as phone tickets are: the page must title them from their text.
            **({"title": title} if i % 2 else {}),
            "body": body,
            "caller": {"phone": f"1390000{i:04d}"},
        }
        lines.append(json.dumps(ticket, ensure_ascii=False).encode())
    return [Message("t", 0, i, None, line) for i, line in enumerate(lines)]


async def _seed(uri: str, db: str) -> str:
    """Tickets planned by the real batch code with the fake model and the hot-spot detector;
    returns the department with the most routed tickets."""
    from streams.batch import plan_batch
    from streams.sightings import decode_decided
    from triage.adapters.hotspot_tracker import HotspotTracker
    from triage.adapters.store import MongoHotspotStore, MongoTicketStore
    from triage.core.settings import Settings

    settings = Settings(mongodb_uri=uri, db=db)
    store, spots = MongoTicketStore(uri, db), MongoHotspotStore(uri, db)
    tracker = HotspotTracker(spots)
    try:
        await store.ensure_indexes()
        plan = await plan_batch(
            _messages(),
            analyzer=fake_analyzer("v1"),
            registry=REGISTRY,
            settings=settings,
        )
        await store.upsert_batch(plan.records)
        await spots.ensure_indexes()
        # what the hot-spot stage does with the routing stage's records
        decided = [decode_decided(out.value) for out in plan.decided]
        await spots.save(tracker.observe([t.sighting() for t in decided if not isinstance(t, str)]))
        routed = [r.decision.department for r in plan.records if r.decision.kind == "routed"]
        assert sum(r.decision.kind == "review" for r in plan.records) >= 2
        return str(max(set(routed), key=routed.count))
    finally:
        await store.close()
        await spots.close()


@pytest.fixture(scope="module")
def desks(
    kafka_server: KafkaServer, mongo_server: MongoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desks]:
    prefix = f"dk{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(1) as pool:  # its own event loop, apart from pytest-asyncio's
        department = pool.submit(asyncio.run, _seed(mongo_server.uri, prefix)).result()
    tokens = {SUPERVISOR: "supervisor", AGENT: "agent", DEPARTMENT: f"department:{department}"}
    folder = tmp_path_factory.mktemp("desks")
    with dashboard_server(kafka_server, mongo_server, prefix, tokens, folder) as url:
        yield Desks(url, department, prefix)


def _api(desks: Desks, path: str, token: str = SUPERVISOR) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(desks.url + path, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
        return json.loads(reply.read())


def _watch(page: Page) -> list[str]:
    """HTTP errors the page meets (none is expected: a desk calls only what its role may)."""
    failed: list[str] = []

    def on_response(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    return failed


def _open(page: Page, desks: Desks, token: str) -> list[str]:
    failed = _watch(page)
    page.goto(desks.url + "/")
    page.fill("#token", token)
    page.click("#controls button[type=submit]")
    expect(page.locator("#status")).to_contain_text("更新于", timeout=15_000)
    return failed


def _readable(page: Page) -> None:
    """No title is a raw id, and no status, channel, district or department code is shown."""
    titles = page.locator(".ticket-link, .hotspot-link, .ticket-title, .row-link")
    for text in titles.all_inner_texts():
        assert text.strip() and not RAW_ID.match(text.strip()), text
    for where in ("main", "#drawer"):
        if page.locator(where).is_visible():
            shown = page.inner_text(where)
            assert not CODES.search(shown), CODES.search(shown)


def test_agent_dispatches_a_review_ticket_to_a_department_queue(
    page: Page, browser: Browser, desks: Desks, errors: list[str]
) -> None:
    """From the review queue, an agent opens a ticket, finds a department by its Chinese name
    and dispatches it there; the ticket is then in that department's queue on its desk."""
    failed = _open(page, desks, AGENT)
    expect(page.locator("#agent-desk")).to_be_visible()
    expect(page.locator("#stats")).to_be_hidden()
    rows = page.locator("#review-queue tbody tr[data-ticket]")
    expect(rows.first).to_be_visible()
    ticket_id = rows.first.get_attribute("data-ticket")
    assert ticket_id is not None
    _readable(page)
    screenshot(page, "desk-agent")
    rows.first.locator("a").click()
    expect(page.locator("#drawer .ticket-title")).to_be_visible()
    expect(page.locator("#drawer .timeline li").first).to_be_visible()
    expect(page.locator("#drawer .related")).to_be_visible()
    _readable(page)
    screenshot(page, "desk-agent-ticket")
    name = REGISTRY.department(desks.department).name
    page.fill("#drawer .dept-search", name)
    page.click("#drawer .picker button")
    expect(page.locator("#drawer-note")).to_have_text(f"已派至{name}")
    expect(page.locator(f'#review-queue tr[data-ticket="{ticket_id}"]')).to_have_count(0)
    assert _api(desks, f"/v1/tickets/{ticket_id}")["department"] == desks.department
    assert failed == []

    other = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    try:
        dept_page = other.new_page()
        dept_failed = _open(dept_page, desks, DEPARTMENT)
        expect(dept_page.locator(f'#dept-queue tr[data-ticket="{ticket_id}"]')).to_contain_text(
            "改派待受理"
        )
        _readable(dept_page)
        assert dept_failed == []
    finally:
        other.close()


def test_department_returns_one_ticket_and_accepts_another(
    page: Page, desks: Desks, errors: list[str]
) -> None:
    """A department returns a ticket with a listed reason, a note and a suggested department,
    and accepts another; the hotline sees the return, the timeline both."""
    failed = _open(page, desks, DEPARTMENT)
    expect(page.locator("#department-desk")).to_be_visible()
    waiting = page.locator("#dept-queue tbody tr[data-ticket]", has_text="待受理")
    expect(waiting.nth(1)).to_be_visible()
    first, second = (waiting.nth(i).get_attribute("data-ticket") for i in (0, 1))
    _readable(page)
    screenshot(page, "desk-department")

    page.locator(f'#dept-queue tr[data-ticket="{first}"] a').click()
    expect(page.locator("#drawer .return-form")).to_be_visible()
    page.select_option("#drawer .return-reason", "不属于本部门职责")
    page.fill("#drawer .return-detail", "应由属地街道处理")
    target = next(d for d in REGISTRY.departments if d.code != desks.department)
    page.select_option("#drawer .return-suggest", target.code)
    screenshot(page, "desk-department-return")
    page.click("#drawer .return-form button")
    expect(page.locator("#drawer-note")).to_have_text("已退回热线")
    expect(page.locator("#drawer .timeline")).to_contain_text(
        "原因：不属于本部门职责：应由属地街道处理"
    )
    expect(page.locator("#drawer .timeline")).to_contain_text("建议改派：" + target.name)
    _readable(page)

    page.locator(f'#dept-queue tr[data-ticket="{second}"] a').click()
    expect(page.locator("#drawer .ticket-title")).to_be_visible()
    page.click("#drawer button.accept")
    expect(page.locator("#drawer-note")).to_have_text("已受理")
    expect(page.locator("#drawer .resolve-form")).to_be_visible()
    expect(page.locator(f'#dept-queue tr[data-ticket="{second}"]')).to_contain_text("已受理")
    _readable(page)
    screenshot(page, "desk-department-accepted")

    returned = _api(desks, f"/v1/tickets/{first}")
    assert returned["status"] == "returned"
    assert returned["timeline"][-1]["suggested_department"] == target.code
    assert _api(desks, f"/v1/tickets/{second}")["status"] == "accepted"
    review = _api(desks, "/v1/review", AGENT)
    assert first in {t["ticket_id"] for t in review["tickets"]}
    assert failed == []


def test_supervisor_opens_a_hot_spot_then_a_ticket_from_it(
    page: Page, desks: Desks, errors: list[str]
) -> None:
    """The hot-spot panel lists readable titles and places; a hot spot opens with its members
    by title, and a member opens as a ticket whose timeline starts at its first department."""
    failed = _open(page, desks, SUPERVISOR)
    expect(page.locator("#stats")).to_be_visible()
    spots = page.locator("#hotspots tbody tr[data-hotspot]")
    expect(spots.first).to_be_visible()
    expect(spots.first).to_contain_text("丽发")
    _readable(page)
    screenshot(page, "desk-supervisor")
    spots.first.locator("a").click()
    members = page.locator("#drawer ol.members li a")
    expect(members.first).to_be_visible()
    assert members.count() >= 4
    _readable(page)
    screenshot(page, "desk-supervisor-hotspot")
    # A member the model routed: its timeline starts at the department it was routed to.
    routed = page.locator("#drawer ol.members li").filter(has_not_text="热线审核")
    expect(routed.first).to_be_visible()
    routed.first.locator("a").click()
    expect(page.locator("#drawer .timeline li").first).to_be_visible()
    first_entry = page.locator("#drawer .timeline li").first.inner_text()
    assert any(d.name in first_entry for d in REGISTRY.departments), first_entry
    _readable(page)
    screenshot(page, "desk-supervisor-ticket")
    assert failed == []
