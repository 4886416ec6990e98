"""Schemathesis against the live API: generated requests never get a 5xx, and every response
conforms to the OpenAPI document."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.integration.api import TOKENS, Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ST = str(Path(sys.executable).parent / "st")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


async def _run(api: Api, role: str, tmp: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        ST,
        "run",
        f"{api.client.base}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "15",
        "--seed",
        "12345",
        "--generation-deterministic",
        "--request-timeout",
        "10",
        "--no-color",
        "--report-dir",
        str(tmp),
        "-H",
        f"Authorization: Bearer {TOKENS[role]}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.mark.parametrize("role", ["agent", "trainer", "supervisor"])
async def test_schemathesis_finds_no_server_error_or_drift(
    api: Api, role: str, tmp_path: Path
) -> None:
    """Generated valid and invalid requests: no 5xx, documented statuses and bodies only."""
    await api.seed(20)
    code, output = await _run(api, role, tmp_path)
    assert code == 0, output[-6000:]
