"""Shared fixtures: the real servers, started once per session on free ports."""

import pytest

from tests.servers import kafka_server, mongo_server, server_run  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's synchronous API keeps an event loop running in the
    main thread for the rest of the session, where asyncio tests could no longer start one."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)
