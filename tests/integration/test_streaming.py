"""The service end to end on Apache Kafka and SecantusDB, as `triage serve` subprocesses."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.integration.service import Scenario
from tests.servers import MongoServer
from tests.tickets import malformed_lines, ticket_lines

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _wait_consuming(scenario: Scenario) -> None:
    # A service is consuming once a probe ticket is stored.
    probe = ticket_lines(4901)[-1:]
    await scenario.publish(probe)
    await scenario.wait_stored(1, 0, within=90)


async def test_5000_with_100_malformed_all_accounted(scenario: Scenario, tmp_path: Path) -> None:
    """4,900 tickets and 100 malformed lines: every one routed, reviewed or dead-lettered."""
    scenario.start_service(tmp_path)
    await _wait_consuming(scenario)
    lines = ticket_lines(4900) + malformed_lines(100)
    await scenario.publish(lines)
    await scenario.wait_stored(4901, 100)
    await scenario.check_accounting(4901, 100)


async def test_sigkill_mid_run_loses_nothing(scenario: Scenario, tmp_path: Path) -> None:
    """A service killed with SIGKILL mid-run and restarted: nothing lost, nothing doubled."""
    proc = scenario.start_service(tmp_path)
    await _wait_consuming(scenario)
    publishing = asyncio.create_task(
        scenario.publish(ticket_lines(3000) + malformed_lines(24), rate=1000)
    )
    await asyncio.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    scenario.start_service(tmp_path)
    await publishing
    await scenario.wait_stored(3001, 24, within=150)
    await scenario.check_accounting(3001, 24)


async def test_mongodb_down_for_10s_loses_nothing(
    scenario: Scenario, tmp_path: Path, mongo_server: MongoServer
) -> None:
    """With MongoDB stopped for 10 s mid-run, the service waits, retries and loses nothing."""
    scenario.start_service(tmp_path)
    await _wait_consuming(scenario)
    publishing = asyncio.create_task(scenario.publish(ticket_lines(2000), rate=150))
    await asyncio.sleep(2)
    await mongo_server.astop()
    await asyncio.sleep(10)
    await mongo_server.astart()
    await publishing
    await scenario.wait_stored(2001, 0, within=150)
    await scenario.check_accounting(2001, 0)
    assert all(p.poll() is None for p in scenario.procs)
    assert "delivery failed, retrying" in (tmp_path / "serve-0.log").read_text()


async def test_two_services_share_and_take_over(scenario: Scenario, tmp_path: Path) -> None:
    """Two services share the partitions; when one is killed the other finishes its work."""
    first = scenario.start_service(tmp_path)
    scenario.start_service(tmp_path)
    await _wait_consuming(scenario)
    await asyncio.sleep(3)  # let the second member join before the load arrives
    publishing = asyncio.create_task(scenario.publish(ticket_lines(3000), rate=600))
    await asyncio.sleep(2.0)
    first.send_signal(signal.SIGKILL)
    first.wait()
    await publishing
    await scenario.wait_stored(3001, 0, within=150)
    await scenario.check_accounting(3001, 0)
    logs = await asyncio.to_thread(
        lambda: [p.read_text() for p in sorted(tmp_path.glob("serve-*.log"))]
    )
    assert all('"batch committed"' in text for text in logs), "both members did work"


async def test_sigterm_finishes_batch_and_exits_zero(scenario: Scenario, tmp_path: Path) -> None:
    """SIGTERM mid-run: the service commits the batch in hand and exits 0; a new one resumes."""
    proc = scenario.start_service(tmp_path)
    await _wait_consuming(scenario)
    publishing = asyncio.create_task(scenario.publish(ticket_lines(1500), rate=1000))
    await asyncio.sleep(0.7)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0
    scenario.start_service(tmp_path)
    await publishing
    await scenario.wait_stored(1501, 0, within=120)
    await scenario.check_accounting(1501, 0)
