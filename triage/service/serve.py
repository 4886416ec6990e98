"""`triage serve`: the stages it is told to run and the HTTP API until SIGTERM or SIGINT.

On a signal each consumer stops taking batches, finishes and commits the one in hand, the
clients close, and the process exits 0. A consumer that dies for another reason exits 1, so
that the orchestrator restarts it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys

import structlog
from aiohttp import web

from triage.core.errors import RegistryError, SettingsError
from triage.core.settings import STAGES, Settings, parse_stages
from triage.service.app import create_app, load_analyzer
from triage.service.keys import CONSUMER_TASK, EVENTS_TASK, HOTSPOTS_TASK
from triage.service.logs import configure

log = structlog.get_logger("triage.service.serve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `triage serve`."""
    parser.add_argument("--no-http", action="store_true", help="run the consumer only")
    parser.add_argument("--no-consumer", action="store_true", help="run the HTTP API only")
    parser.add_argument(
        "--stages",
        default=None,
        metavar="LIST",
        help=f"comma-separated stages to run, of {','.join(STAGES)}, or none "
        "(default: TRIAGE_STAGES, else all)",
    )
    parser.add_argument("--log-level", default="INFO", help="default: %(default)s")
    parser.add_argument(
        "--analyzer",
        default=None,
        metavar="MODULE:FUNCTION",
        help="load text preparation and classifier from this factory instead of the model",
    )


def run(args: argparse.Namespace) -> int:
    configure(args.log_level)
    # The consumer classifies in a worker thread; a shorter GIL switch interval hands the GIL
    # back to the event loop sooner, which bounds the latency an HTTP request can suffer.
    sys.setswitchinterval(0.001)
    try:
        settings = Settings.from_env()
        if args.stages is not None:
            settings = dataclasses.replace(settings, stages=parse_stages(args.stages, "--stages"))
    except SettingsError as exc:
        # The message names the variable and value; a traceback would add nothing.
        log.error("bad settings", variable=exc.variable, problem=str(exc))  # noqa: TRY400
        return 2
    try:
        return asyncio.run(
            serve(
                settings,
                http=not args.no_http,
                consumer=not args.no_consumer,
                analyzer_spec=args.analyzer,
            )
        )
    except SettingsError as exc:
        # TRIAGE_TOKENS_FILE is read when the app is built.
        log.error("bad settings", variable=exc.variable, problem=str(exc))  # noqa: TRY400
        return 2
    except RegistryError as exc:
        # The department registry (TRIAGE_DEPARTMENTS) too; the message names the entry.
        log.error("bad department registry", entry=exc.entry, problem=str(exc))  # noqa: TRY400
        return 2


async def serve(
    settings: Settings,
    *,
    http: bool = True,
    consumer: bool = True,
    analyzer_spec: str | None = None,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(
        settings,
        consumer=consumer,
        # Without a factory the app starts with the active model of the model store.
        analyzer=(lambda: load_analyzer(settings, analyzer_spec)) if analyzer_spec else None,
        similar=http,
    )
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    if http:
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        log.info("http listening", address=f"http://{settings.http_host}:{settings.http_port}")
    tasks = [app[key] for key in (CONSUMER_TASK, HOTSPOTS_TASK, EVENTS_TASK) if key in app]
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait([waiter, *tasks], return_when="FIRST_COMPLETED")
    ended = [task for task in tasks if task.done()]
    failed = bool(ended) and not stop.is_set()
    for task in ended if failed else ():
        log.error("consumer ended unexpectedly", task=task.get_name(), error=repr(task.exception()))
    log.info("shutting down")
    await runner.cleanup()
    waiter.cancel()
    log.info("stopped")
    return 1 if failed else 0
