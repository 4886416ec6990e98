"""Structured JSON logs. Message context (ticket id, topic, partition, offset) is passed as
keys; ticket text, callers and phone numbers are never logged.

Every line is one JSON object: structlog's own loggers render directly, and the standard
library's (aiokafka, aiohttp, asyncio, Python's warnings) go through a handler whose
``ProcessorFormatter`` renders them with the same keys plus ``logger``."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

__all__ = ["configure"]

# Level of the standard library's loggers: their INFO lines (aiokafka's per-rebalance chatter)
# say nothing that the service's own lines do not.
FOREIGN_LEVEL = logging.WARNING


def configure(level: str = "INFO", *, json: bool = True, stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's loggers (aiokafka, aiohttp) to ``stream``
    (stderr by default)."""
    out = sys.stderr if stream is None else stream
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(FOREIGN_LEVEL)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
