"""The statistics endpoints and /metrics against SecantusDB and Kafka, through the app factory."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streams.replay import replay
from tests.fakes import analyzer
from tests.integration.api import api_settings
from tests.servers import KafkaServer, MongoServer
from tests.tickets import ticket_lines
from triage.adapters.registry_file import SHIPPED_REGISTRY
from triage.adapters.store import DeadLetterRecord, EventWrite, TicketRecord
from triage.core.deadlines import add_working_hours
from triage.core.routing import Decision, Suggestion
from triage.core.stats import LOCAL_TZ
from triage.service.api.auth import Principal, TokenSet
from triage.service.app import create_app
from triage.service.keys import STORE
from triage.service.metrics import METRICS, install

pytestmark = pytest.mark.integration

SUPERVISOR, TRAINER, AGENT, DEPT = "s" * 20, "t" * 20, "a" * 20, "d" * 20
HOUSING, ENV = "city-housing", "city-environment"
DISTRICT_ENV, TRANSPORT = "chancheng-environment", "city-transport"
TOKENS = TokenSet(
    {
        SUPERVISOR: Principal("supervisor"),
        TRAINER: Principal("trainer"),
        AGENT: Principal("agent"),
        DEPT: Principal("department", HOUSING),
    }
)
DAY1 = datetime(2026, 11, 20, 9, 0, tzinfo=LOCAL_TZ)
DAY2 = datetime(2026, 11, 21, 9, 0, tzinfo=LOCAL_TZ)
WRONG_DEPT = "不属于本部门职责"

Client = TestClient[web.Request, web.Application]


async def _start(app: web.Application) -> Client:
    install(app)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    return client


def _decision(tid: str, department: str | None, top: str) -> Decision:
    routed = department is not None
    return Decision(
        decision_id=f"d-{tid}",
        ticket_id=tid,
        kind="routed" if routed else "review",
        department=department,
        label="城乡建设" if top == HOUSING else "环境保护",
        confidence=0.9 if routed else 0.3,
        threshold=0.5,
        suggestions=(Suggestion("城乡建设" if top == HOUSING else "环境保护", 0.9, top),),
        evidence=(),
        model_version="m-test",
        district=None,
    )


@dataclass
class Outcomes:
    """Writes tickets and events through the store, as the consumer and the API do."""

    app: web.Application
    revisions: dict[str, int]

    async def event(
        self,
        tid: str,
        kind: str,
        department: str,
        at: datetime,
        status: str,
        holder: str | None,
        reason: str | None = None,
    ) -> None:
        rev = self.revisions.get(tid, 0)
        doc: dict[str, Any] = {
            "event_id": f"{tid}-{kind}-{rev}",
            "ticket_id": tid,
            "type": kind,
            "department": department,
            "at": at,
            "reason": reason,
        }
        write = EventWrite(
            ticket_id=tid,
            event=doc,
            revision=rev,
            status=status,
            department=holder,
            history={"status": status, "at": at, "by": department},
        )
        assert await self.app[STORE].apply_event(write)
        self.revisions[tid] = rev + 1


async def _populate(app: web.Application) -> None:
    store = app[STORE]
    tickets = [
        ("t1", DAY1, HOUSING, HOUSING, "phone"),
        ("t2", DAY1, HOUSING, HOUSING, "web"),
        ("t3", DAY1, None, ENV, "phone"),
        ("t4", DAY1, ENV, ENV, "phone"),
        ("t5", DAY2, HOUSING, HOUSING, "app"),
    ]
    await store.upsert_batch(
        [
            TicketRecord(tid, at, channel, "", "正文", None, _decision(tid, dept, top))
            for tid, at, dept, top, channel in tickets
        ]
    )
    h = timedelta(hours=1)
    o = Outcomes(app, {})
    await o.event("t1", "accept", HOUSING, DAY1 + 2 * h, "accepted", HOUSING)
    await o.event("t1", "resolve", HOUSING, DAY1 + 10 * h, "resolved", HOUSING)
    await o.event("t2", "accept", HOUSING, DAY1 + 4 * h, "accepted", HOUSING)
    await o.event("t4", "return", ENV, DAY1 + h, "returned", None, WRONG_DEPT)
    await o.event("t5", "return", HOUSING, DAY2 + h, "returned", None, WRONG_DEPT)
    await o.event("t5", "reassign", ENV, DAY2 + 2 * h, "reassigned", ENV)
    await o.event("t5", "accept", ENV, DAY2 + 30 * h, "accepted", ENV)
    await store.add_deadletters(
        [
            DeadLetterRecord("x.tickets", 0, 7, "schema: body is empty - at `$.body`", 10),
            DeadLetterRecord("x.tickets", 0, 9, "invalid JSON: truncated", 3),
        ]
    )


@pytest.fixture
async def client(kafka_server: KafkaServer, mongo_server: MongoServer) -> AsyncIterator[Client]:
    settings = api_settings(kafka_server, mongo_server, batch_linger_ms=20)
    app = create_app(settings, consumer=False, events=False, analyzer=analyzer(), tokens=TOKENS)
    c = await _start(app)
    try:
        await _populate(app)
        yield c
    finally:
        await c.close()


async def _get(client: Client, path: str, token: str = SUPERVISOR, status: int = 200) -> Any:
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    body = await response.json()
    assert response.status == status, body
    return body


async def test_stats_endpoints_report_exact_figures(client: Client) -> None:
    """Summary, daily, departments and accuracy match the tickets and events written."""
    s = await _get(client, "/v1/stats/summary")
    assert (s["tickets"], s["auto_routed"], s["auto_route_rate"]) == (5, 4, 0.8)
    assert s["backlog"] == {"review": 1, "returned": 1, "total": 2}
    assert s["by_status"] == {
        "review": 1,
        "routed": 0,
        "accepted": 2,
        "returned": 1,
        "resolved": 1,
        "reassigned": 0,
    }
    assert s["by_channel"] == [
        {"key": "phone", "count": 3},
        {"key": "app", "count": 1},
        {"key": "web", "count": 1},
    ]
    assert s["events"] == {"accept": 3, "return": 2, "resolve": 1, "reassign": 1}
    assert s["return_rate"] == 0.4
    assert s["top_return_reasons"] == [{"reason": WRONG_DEPT, "count": 2}]
    assert s["deadletters"] == {
        "total": 2,
        "by_reason": [{"key": "invalid JSON", "count": 1}, {"key": "schema", "count": 1}],
    }
    assert [(m["version"], m["decisions"]) for m in s["models"]] == [("m-test", 5)]
    assert s["active_model"] == "fake-1"

    d = await _get(client, "/v1/stats/daily?from=2026-11-19&to=2026-11-21")
    assert [(r["day"], r["tickets"], r["auto_routed"], r["review"]) for r in d["days"]] == [
        ("2026-11-19", 0, 0, 0),
        ("2026-11-20", 4, 3, 1),
        ("2026-11-21", 1, 1, 0),
    ]

    deps = (await _get(client, "/v1/stats/departments"))["departments"]
    housing, env = deps
    assert housing["department"] == HOUSING and housing["name"]
    assert (housing["tickets"], housing["accepted"], housing["returned"]) == (2, 2, 1)
    assert (housing["resolved"], housing["return_rate"]) == (1, 0.3333)
    # Percentiles of hour buckets, interpolated inside the bucket: 2 h is in (1, 2], 4 h in
    # (3, 4], 10 h in (8, 12], 30 h in (24, 36].
    assert housing["hours_to_accept"] == {"n": 2, "median": 2.0, "p90": 3.8}
    assert housing["hours_to_resolve"] == {"n": 1, "median": 10.0, "p90": 11.6}
    assert housing["top_return_reasons"] == [{"reason": WRONG_DEPT, "count": 1}]
    assert (env["department"], env["tickets"], env["accepted"], env["returned"]) == (ENV, 1, 1, 1)
    assert (env["reassigned_to"], env["return_rate"]) == (1, 0.5)
    assert env["hours_to_accept"] == {"n": 1, "median": 30.0, "p90": 34.8}

    a = await _get(client, "/v1/stats/accuracy", token=TRAINER)
    assert (a["tickets"], a["correct"], a["accuracy"]) == (3, 2, 0.6667)
    assert a["auto_routed"] == {"tickets": 3, "correct": 2, "accuracy": 0.6667}
    assert a["reviewed"] == {"tickets": 0, "correct": 0, "accuracy": None}
    assert a["by_department"] == [
        {"department": HOUSING, "tickets": 2, "correct": 2, "accuracy": 1.0},
        {"department": ENV, "tickets": 1, "correct": 0, "accuracy": 0.0},
    ]


async def test_filters_restrict_by_day_and_department(client: Client) -> None:
    """from/to select receipt days (tickets) and event days; department narrows both."""
    s = await _get(client, "/v1/stats/summary?from=2026-11-20&to=2026-11-20")
    assert s["tickets"] == 4 and s["events"]["accept"] == 2 and s["events"]["return"] == 1
    assert s["deadletters"]["total"] == 0  # written today, outside the range
    s = await _get(client, f"/v1/stats/summary?department={ENV}")
    assert s["tickets"] == 1 and s["events"] == {
        "accept": 1,
        "return": 1,
        "resolve": 0,
        "reassign": 1,
    }
    deps = await _get(client, f"/v1/stats/departments?department={HOUSING}")
    assert [d["department"] for d in deps["departments"]] == [HOUSING]


async def test_backlog_ages_overdue_and_wrong_routings(client: Client) -> None:
    """Open tickets by age and department, overdue against working-hour deadlines, and the
    wrong first routings with their counts."""
    b = await _get(client, "/v1/stats/backlog")
    assert b["open"] == 4 and b["calendar"].startswith("chinesecalendar")
    assert {a["key"]: a["count"] for a in b["ages"]}["7-30d"] == 4
    rows = {d["department"]: d for d in b["departments"]}
    # Still with the hotline: t3 in review, t4 returned.
    assert rows[None]["open"] == 2 and rows[None]["by_status"]["review"] == 1
    # Accepted on 20 and 21 November (a Saturday: the clock starts on Monday) and, with 35
    # working hours to resolve, late by now.
    assert (rows[HOUSING]["waiting_resolve"], rows[HOUSING]["overdue_resolve"]) == (1, 1)
    assert (rows[ENV]["waiting_resolve"], rows[ENV]["overdue_resolve"]) == (1, 1)
    assert b["overdue_accept"] == 0 and b["overdue_resolve"] == 2

    r = await _get(client, "/v1/stats/routings", token=TRAINER)
    assert (r["settled"], r["wrong"]) == (3, 1)
    assert [(x["routed_to"], x["settled_at"], x["count"]) for x in r["routings"]] == [
        (HOUSING, ENV, 1)
    ]


async def test_a_department_token_reads_only_its_own_figures(client: Client) -> None:
    """A department's token gets its own figures, and 403 for another department's."""
    s = await _get(client, "/v1/stats/summary", token=DEPT)
    assert s["range"]["department"] == HOUSING and s["tickets"] == 2
    deps = await _get(client, "/v1/stats/departments", token=DEPT)
    assert [d["department"] for d in deps["departments"]] == [HOUSING]
    body = await _get(client, f"/v1/stats/summary?department={ENV}", token=DEPT, status=403)
    assert body["error"]["code"] == "forbidden"
    queue = await _get(client, "/v1/stats/queue", token=DEPT)
    assert [(t["ticket_id"], t["waiting_for"], t["overdue"]) for t in queue["tickets"]] == [
        ("t2", "resolve", True)
    ]
    # Received Friday 20 November 09:00; 35 working hours (5 days of 7) end on Thursday.
    assert queue["tickets"][0]["due"] == "2026-11-26T18:00:00+08:00"
    body = await _get(client, "/v1/stats/queue", status=422)
    assert body["error"]["field"] == "department"


def _registry_with_deadlines(folder: Path) -> Path:
    """The shipped registry, with quick deadlines for the environment bureau (which its
    district counterparts inherit) and slow ones for the housing bureau."""
    text = resources.files("triage").joinpath("data", SHIPPED_REGISTRY).read_text("utf-8")
    for code, accept, resolve in ((ENV, 1, 2), (HOUSING, 300, 600)):
        line = f'code = "{code}"\n'
        assert text.count(line) == 1
        text = text.replace(line, f"{line}accept_hours = {accept}\nresolve_hours = {resolve}\n")
    path = folder / "registry.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def deadline_client(
    kafka_server: KafkaServer, mongo_server: MongoServer, tmp_path: Path
) -> AsyncIterator[tuple[Client, datetime]]:
    """The API on a registry with different deadlines per department, and tickets that all
    reached their departments at the same moment, twenty days ago."""
    settings = api_settings(
        kafka_server, mongo_server, departments=_registry_with_deadlines(tmp_path)
    )
    app = create_app(settings, consumer=False, events=False, analyzer=analyzer(), tokens=TOKENS)
    c = await _start(app)
    start = (datetime.now(LOCAL_TZ) - timedelta(days=20)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    try:
        tickets = [
            ("h1", HOUSING, HOUSING),
            ("h2", HOUSING, HOUSING),
            ("e1", ENV, ENV),
            ("e2", ENV, ENV),
            ("c1", DISTRICT_ENV, ENV),
            ("x1", TRANSPORT, ENV),
        ]
        await app[STORE].upsert_batch(
            [
                TicketRecord(tid, start, "phone", "", "正文", None, _decision(tid, dept, top))
                for tid, dept, top in tickets
            ]
        )
        o = Outcomes(app, {})
        for tid, dept in (("h2", HOUSING), ("e2", ENV)):
            await o.event(tid, "accept", dept, start + timedelta(hours=1), "accepted", dept)
        yield c, start
    finally:
        await c.close()


async def test_each_department_is_late_by_its_own_deadlines(
    deadline_client: tuple[Client, datetime],
) -> None:
    """Tickets that reached two departments at the same moment are overdue at the one with an
    hour to accept and two to resolve, not at the one with 300 and 600; a district counterpart
    keeps its city bureau's deadlines, a department the registry leaves alone the default's."""
    client, start = deadline_client
    b = await _get(client, "/v1/stats/backlog")
    rows = {d["department"]: d for d in b["departments"]}
    figures = {
        code: (
            rows[code]["overdue_accept"],
            rows[code]["overdue_resolve"],
            rows[code]["accept_hours"],
            rows[code]["resolve_hours"],
        )
        for code in rows
    }
    assert figures == {
        HOUSING: (0, 0, 300, 600),
        ENV: (1, 1, 1, 2),
        DISTRICT_ENV: (1, 0, 1, 2),
        TRANSPORT: (1, 0, 7, 35),
    }
    assert (b["overdue_accept"], b["overdue_resolve"]) == (3, 1)
    assert b["deadlines"] == {"accept_hours": 7, "resolve_hours": 35}
    one = await _get(client, f"/v1/stats/backlog?department={ENV}")
    assert one["deadlines"] == {"accept_hours": 1, "resolve_hours": 2}

    def due(hours: float) -> str:
        return add_working_hours(start, hours).isoformat()

    housing = await _get(client, f"/v1/stats/queue?department={HOUSING}")
    env = await _get(client, f"/v1/stats/queue?department={ENV}")
    assert housing["deadlines"] == {"accept_hours": 300, "resolve_hours": 600}
    assert env["deadlines"] == {"accept_hours": 1, "resolve_hours": 2}
    assert {t["ticket_id"]: (t["due"], t["overdue"]) for t in housing["tickets"]} == {
        "h1": (due(300), False),
        "h2": (due(600), False),
    }
    assert {t["ticket_id"]: (t["due"], t["overdue"]) for t in env["tickets"]} == {
        "e1": (due(1), True),
        "e2": (due(2), True),
    }
    assert (housing["overdue"], env["overdue"]) == (0, 2)
    deps = await _get(client, "/v1/departments")
    applied = {d["code"]: d["deadlines"] for d in deps["departments"]}
    assert applied[DISTRICT_ENV] == {"accept_hours": 1, "resolve_hours": 2}
    assert applied[TRANSPORT] == {"accept_hours": 7, "resolve_hours": 35}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=20261101", "to"),
        ("from=2026-11-21&to=2026-11-20", "from"),
        ("from=2024-01-01&to=2026-01-01", "to"),
        ("department=nowhere", "department"),
        ("form=2026-11-01", "form"),
    ],
)
async def test_bad_filters_are_422_naming_the_parameter(
    client: Client, query: str, field: str
) -> None:
    """A bad date, range, department or parameter name is a JSON 422 naming it."""
    body = await _get(client, f"/v1/stats/summary?{query}", status=422)
    assert body["error"]["code"] == "invalid" and body["error"]["field"] == field


async def test_stats_need_a_supervisor_or_trainer_token(client: Client) -> None:
    """No token is 401; an agent's token is 403."""
    response = await client.get("/v1/stats/daily")
    assert response.status == 401
    body = await _get(client, "/v1/stats/daily", token=AGENT, status=403)
    assert body["error"]["code"] == "forbidden"


async def test_metrics_after_tickets_flow(
    kafka_server: KafkaServer, mongo_server: MongoServer
) -> None:
    """After tickets pass through the consumer, /metrics shows outcomes, batches, lag, model."""
    settings = api_settings(kafka_server, mongo_server, batch_linger_ms=20)
    app = create_app(settings, consumer=True, events=False, analyzer=analyzer(), tokens=TOKENS)
    client = await _start(app)

    def count(outcome: str) -> float:
        value = app[METRICS].registry.get_sample_value("triage_tickets_total", {"outcome": outcome})
        return value or 0.0

    try:
        lines = [*ticket_lines(30), b"{not json"]
        await replay(lines, bootstrap=kafka_server.bootstrap, topic=settings.topics.tickets)
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = await (await client.get("/metrics")).text()
            # Partitions are consumed in any order: the dead letter can come before the tickets.
            done = count("routed") + count("review") >= 30 and count("deadletter") >= 1
            if done and "triage_consumer_lag{" in text:
                break
            await asyncio.sleep(0.3)
        assert count("routed") + count("review") == 30
        for name in (
            'triage_tickets_total{outcome="deadletter"} 1.0',
            'triage_deadletters_total{reason="invalid JSON"} 1.0',
            "triage_batch_seconds_count",
            f'triage_consumer_lag{{partition="0",topic="{settings.topics.tickets}"}}',
            'triage_model_info{version="fake-1"} 1.0',
            'triage_http_request_seconds_count{method="GET",route="/metrics",status="200"}',
        ):
            assert name in text, name
    finally:
        await client.close()


async def test_every_table_exports_as_csv_and_xlsx_with_chinese_headers(client: Client) -> None:
    """?format=csv is UTF-8 with a BOM and Chinese headers; ?format=xlsx opens in openpyxl."""
    for name in ("summary", "daily", "departments", "accuracy", "backlog", "routings", "queue"):
        query = f"format=csv&department={HOUSING}" if name == "queue" else "format=csv"
        response = await client.get(
            f"/v1/stats/{name}?{query}", headers={"Authorization": f"Bearer {SUPERVISOR}"}
        )
        assert response.status == 200 and response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        text = (await response.read()).decode("utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        assert all("\u4e00" <= ch <= "\u9fff" for ch in rows[0][0][:1]), rows[0]
        response = await client.get(
            f"/v1/stats/{name}?{query.replace('csv', 'xlsx')}",
            headers={"Authorization": f"Bearer {SUPERVISOR}"},
        )
        assert response.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))
        sheet = book.active
        assert sheet is not None
        assert [c.value for c in sheet[1]] == rows[0]
        assert sheet.max_row == len(rows)
    deps = await client.get(
        "/v1/stats/departments?format=csv", headers={"Authorization": f"Bearer {SUPERVISOR}"}
    )
    table = list(csv.reader(io.StringIO((await deps.read()).decode("utf-8-sig"))))
    assert table[0][:4] == ["部门代码", "部门", "工单数", "受理"]
    assert table[1][:3] == [HOUSING, table[1][1], "2"] and table[1][1]
    body = await _get(client, "/v1/stats/daily?format=pdf", status=422)
    assert body["error"]["field"] == "format"
