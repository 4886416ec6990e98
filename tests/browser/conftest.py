"""What every browser test shares: Debian's Chromium, a Chinese locale, and a page that fails
its test on a console error or an uncaught exception."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.integration.service import ROOT
from tests.servers import KafkaServer, MongoServer
from triage.adapters import stack

CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists():  # installed by `make install`
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, Any]:
    return {"viewport": {"width": 1440, "height": 900}, "locale": "zh-CN", "accept_downloads": True}


@pytest.fixture
def errors(page: Page) -> Iterator[list[str]]:
    """Console errors and uncaught exceptions of the page; the test fails on any."""
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    yield seen
    assert seen == []


@contextlib.contextmanager
def dashboard_server(
    kafka: KafkaServer, mongo: MongoServer, prefix: str, tokens: dict[str, str], folder: Path
) -> Iterator[str]:
    """`triage serve --no-consumer` (the test analyzer) on a free port over the database and
    topics ``prefix``, with ``tokens`` (token -> role, or role:department); yields its URL and
    stops it by pid on every path."""
    lines = []
    for token, role in tokens.items():
        name, _, department = role.partition(":")
        lines.append(f'[[tokens]]\ntoken = "{token}"\nrole = "{name}"\n')
        if department:
            lines.append(f'department = "{department}"\n')
    (folder / "tokens.toml").write_text("".join(lines))
    port = stack.free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "MONGODB_URI": mongo.uri,
        "TRIAGE_DB": prefix,
        "TRIAGE_TOPIC_PREFIX": prefix,
        "TRIAGE_TOKENS_FILE": str(folder / "tokens.toml"),
        "TRIAGE_HTTP_PORT": str(port),
    }
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage", "serve", "--no-consumer", "--analyzer",
         "tests.fakes:analyzer"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((folder / "serve.log").read_text()) from None
                time.sleep(0.3)
        yield url
    finally:
        stack.stop_child(proc)
        log.close()


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot in test-artifacts/, written by every run, to be looked at."""
    folder = ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
