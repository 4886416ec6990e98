"""Every log line is one JSON object: structlog's own and the standard library's loggers."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from triage.service.logs import configure


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """The service's logging, writing to a captured stream; the defaults restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure("INFO", stream=stream)
    try:
        yield stream
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        logging.captureWarnings(False)
        structlog.reset_defaults()


def _fail() -> None:
    raise RuntimeError("broker gone")


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_stdlib_logger_lines_are_json(configured: io.StringIO) -> None:
    """A standard-library logger's warning (aiokafka's kind) is a JSON line with its name."""
    logging.getLogger("aiokafka.consumer.group_coordinator").warning("Heartbeat failed %s", 3)
    [line] = _lines(configured)
    assert line["event"] == "Heartbeat failed 3"
    assert line["level"] == "warning"
    assert line["logger"] == "aiokafka.consumer.group_coordinator"
    assert line["timestamp"].endswith("Z")


def test_stdlib_exception_is_rendered_inside_the_json(
    configured: io.StringIO,
) -> None:
    """A logged exception's traceback is a key of the same JSON line, not extra plain lines."""
    try:
        _fail()
    except RuntimeError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    [line] = _lines(configured)
    assert line["level"] == "error"
    assert "RuntimeError: broker gone" in line["exception"]


def test_stdlib_info_is_below_the_foreign_level(configured: io.StringIO) -> None:
    """The standard library's INFO chatter is not logged; its warnings are."""
    logging.getLogger("aiokafka").info("Updating subscribed topics")
    assert configured.getvalue() == ""


def test_structlog_lines_keep_their_keys(configured: io.StringIO) -> None:
    """The service's own lines are JSON with their context keys and non-ASCII text as is."""
    structlog.get_logger().info("batch committed", topic="hotline.tickets", note="已办结")
    [line] = _lines(configured)
    assert line["event"] == "batch committed"
    assert line["topic"] == "hotline.tickets"
    assert line["note"] == "已办结"
    assert line["level"] == "info"


def test_python_warnings_are_json(configured: io.StringIO) -> None:
    """A Python warning shown at run time is logged as a JSON line, not printed plain."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # catch_warnings restored showwarning on entry
        warnings.warn("deprecated call", DeprecationWarning, stacklevel=1)
    [line] = _lines(configured)
    assert line["logger"] == "py.warnings"
    assert "deprecated call" in line["event"]
