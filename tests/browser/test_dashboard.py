"""The dashboard in Debian's Chromium, driven by Playwright, against `python -m triage serve`
on the real servers with seeded tickets and outcomes. Each test saves a screenshot under
test-artifacts/ and fails on any console error."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import dashboard_server, screenshot
from tests.fakes import analyzer as fake_analyzer
from tests.servers import KafkaServer, MongoServer
from tests.tickets import ticket_lines
from triage.adapters.registry_file import load_registry
from triage.adapters.store import EventWrite, MongoTicketStore
from triage.core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SUPERVISOR, AGENT = "browser-supervisor-0123456789", "browser-agent-0123456789"
DEPARTMENT = "browser-department-0123456789"
N_TICKETS = 60


@dataclass(frozen=True)
class Seeded:
    url: str
    tickets: int
    department: str
    department_tickets: int
    accepted: int
    returned: int


async def _seed(uri: str, db: str) -> tuple[int, str, int, int, int]:
    """Tickets planned by the real batch code with the fake model, then accepts, returns and
    resolves written the way the outcome handler writes them."""
    from streams.batch import Message, plan_batch

    settings = Settings(mongodb_uri=uri, db=db)
    messages = [Message("t", 0, i, None, line) for i, line in enumerate(ticket_lines(N_TICKETS))]
    plan = await plan_batch(
        messages, analyzer=fake_analyzer("v1"), registry=load_registry(), settings=settings
    )
    store = MongoTicketStore(uri, db)
    try:
        await store.ensure_indexes()
        await store.upsert_batch(plan.records)
        routed = [r for r in plan.records if r.decision.kind == "routed"]
        department = max(
            {r.decision.department for r in routed},
            key=lambda d: sum(r.decision.department == d for r in routed),
        )
        accepted = returned = 0
        for i, record in enumerate(routed):
            dept = record.decision.department
            steps = [("accept", "accepted", dept)]
            if i % 4 == 0:
                steps = [("return", "returned", dept)]
            elif i % 4 == 1:
                steps.append(("resolve", "resolved", dept))
            status = "routed"
            for rev, (kind, to, holder) in enumerate(steps):
                at = datetime.now(UTC) - timedelta(hours=len(steps) - rev)
                event = {
                    "event_id": f"{record.ticket_id}-{rev}",
                    "ticket_id": record.ticket_id,
                    "type": kind,
                    "department": holder,
                    "reason": "不属于本部门职责" if kind == "return" else None,
                    "from_status": status,
                    "to_status": to,
                    "from_department": dept,
                    "at": at,
                }
                history = {
                    "status": to,
                    "at": at,
                    "by": "department",
                    "event_id": event["event_id"],
                }
                write = EventWrite(record.ticket_id, event, rev, to, holder, history)
                assert await store.apply_event(write)
                status = to
            accepted += steps[0][0] == "accept"
            returned += steps[0][0] == "return"
        held = await store.tickets.count_documents({"department": department})
        return len(plan.records), str(department), held, accepted, returned
    finally:
        await store.close()


@pytest.fixture(scope="module")
def seeded(
    kafka_server: KafkaServer, mongo_server: MongoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    prefix = f"br{uuid.uuid4().hex[:8]}"
    # Its own thread: the seeding's event loop must not meet pytest-asyncio's.
    with ThreadPoolExecutor(1) as pool:
        n, department, held, accepted, returned = pool.submit(
            asyncio.run, _seed(mongo_server.uri, prefix)
        ).result()
    tokens = {SUPERVISOR: "supervisor", AGENT: "agent", DEPARTMENT: f"department:{department}"}
    folder = tmp_path_factory.mktemp("browser")
    with dashboard_server(kafka_server, mongo_server, prefix, tokens, folder) as url:
        yield Seeded(url, n, department, held, accepted, returned)


def _open(page: Page, seeded: Seeded, token: str) -> None:
    page.goto(seeded.url + "/")
    page.fill("#token", token)
    page.click("#controls button[type=submit]")
    expect(page.locator("#status")).to_contain_text("更新于", timeout=15_000)


def _series(page: Page, chart: str, index: int = 0) -> list[Any]:
    data: list[Any] = page.evaluate(
        "([id, i]) => echarts.getInstanceByDom(document.getElementById(id))"
        ".getOption().series[i].data",
        [chart, index],
    )
    return data


def test_supervisor_view_shows_the_seeded_figures(
    page: Page, seeded: Seeded, errors: list[str]
) -> None:
    """Cards, charts and tables show the tickets and outcomes written to the store."""
    _open(page, seeded, SUPERVISOR)
    expect(page.locator("#c-tickets")).to_have_text(str(seeded.tickets))
    volume = _series(page, "chart-volume", 0) + _series(page, "chart-volume", 1)
    assert sum(v or 0 for v in volume) == seeded.tickets
    returns = _series(page, "chart-departments", 0)
    assert len(returns) >= 1 and any(v > 0 for v in returns)
    assert len(_series(page, "chart-accuracy")) == 1  # one model version: the fake
    rows = page.locator("#departments tbody tr")
    expect(rows.first).to_be_visible()
    accepted = sum(
        int(t.replace(",", "")) for t in rows.locator("td:nth-child(3)").all_inner_texts()
    )
    assert accepted == seeded.accepted
    # Sorting by return count puts the largest first.
    page.click("#departments th[data-key=returned]")
    returned = [int(t) for t in rows.locator("td:nth-child(4)").all_inner_texts()]
    assert returned == sorted(returned, reverse=True) and sum(returned) == seeded.returned
    screenshot(page, "supervisor")


def test_department_view_shows_only_that_department(
    page: Page, seeded: Seeded, errors: list[str]
) -> None:
    """A department token sees its own figures and its queue, not the others'."""
    _open(page, seeded, DEPARTMENT)
    expect(page.locator("#view-name")).to_contain_text("部门工作台")
    expect(page.locator("#department-label")).to_be_hidden()
    expect(page.locator("#departments tbody tr")).to_have_count(1)
    expect(page.locator("#c-tickets")).to_have_text(str(seeded.department_tickets))
    expect(page.locator("#c-tickets-sub")).not_to_contain_text("死信")
    expect(page.locator("#department-desk")).to_be_visible()
    expect(page.locator("#dept-queue tbody tr").first).to_be_visible()
    screenshot(page, "department")


def test_agent_panel_highlights_the_evidence(page: Page, seeded: Seeded, errors: list[str]) -> None:
    """A suggestion shows the ranked departments and marks its evidence in the masked text."""
    page.goto(seeded.url + "/")
    page.fill("#token", AGENT)
    page.click("#controls button[type=submit]")
    expect(page.locator("#agent-desk")).to_be_visible()
    page.fill("#s-title", "噪音扰民")
    page.fill("#s-body", "小区旁边工地夜间施工噪音扰民，电话13812345678")
    page.click("#suggest-form button")
    expect(page.locator("#s-result ol.suggestions li").first).to_be_visible()
    expect(page.locator("#s-result mark").first).to_be_visible()
    assert "13812345678" not in page.inner_text("#s-result")
    # The agent's desk asks for nothing an agent may not read: no statistics, no error.
    expect(page.locator("#stats")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("更新于")
    screenshot(page, "agent")


def test_tables_export_as_csv_and_xlsx(
    page: Page, seeded: Seeded, errors: list[str], tmp_path: Path
) -> None:
    """The export buttons download files that open, with the table's Chinese headers."""
    _open(page, seeded, SUPERVISOR)
    section = page.locator(".exports[data-table=departments]")
    with page.expect_download() as info:
        section.locator("button[data-format=csv]").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["部门代码", "部门", "工单数"]
    assert sum(int(r[3]) for r in rows[1:]) == seeded.accepted
    with page.expect_download() as info:
        section.locator("button[data-format=xlsx]").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:3] == ["部门代码", "部门", "工单数"]
    assert sheet.max_row == len(rows)
    screenshot(page, "export")
