"""What every browser test shares: Debian's Chromium, a Chinese locale, and a page that fails
its test on a console error or an uncaught exception."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

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
