"""The app factory: every service is created here, once, and closed through ``cleanup_ctx``.

Handlers reach services through the typed keys below (``request.app[STORE]``), so the HTTP API
can grow in its own modules on top of ``create_app`` without touching the wiring.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import structlog
from aiohttp import web

from streams.batch import Analyzer
from streams.consumer import Backoff, TicketConsumer
from streams.producer import KafkaProducer
from streams.topics import ensure_topics
from triage.departments import Registry, load_registry
from triage.settings import Settings
from triage.store import MongoTicketStore, TicketStore

__all__ = [
    "ANALYZER",
    "CONSUMER",
    "CONSUMER_TASK",
    "PRODUCER",
    "REGISTRY",
    "SETTINGS",
    "STORE",
    "create_app",
    "load_analyzer",
]

log = structlog.get_logger("triage.app")

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", Registry)
ANALYZER = web.AppKey("analyzer", Analyzer)
STORE = web.AppKey("store", TicketStore)
PRODUCER = web.AppKey("producer", KafkaProducer)
CONSUMER = web.AppKey("consumer", TicketConsumer)
CONSUMER_TASK = web.AppKey("consumer_task", asyncio.Task[None])

CHECK_TIMEOUT_S = 3.0


def load_analyzer(settings: Settings, spec: str | None = None) -> Analyzer:
    """The real text preparation and model, or ``module:function`` returning an Analyzer."""
    if spec:
        module, _, name = spec.partition(":")
        factory: Callable[[], Analyzer] = getattr(importlib.import_module(module), name)
        return factory()
    # Imported here: the pure model code is heavy and not needed by `--no-consumer` tooling.
    from triage.model import load_model  # type: ignore[import-not-found,unused-ignore]
    from triage.text import prepare  # type: ignore[import-not-found,unused-ignore]

    return Analyzer(prepare=prepare, classifier=load_model(settings.model))


def create_app(
    settings: Settings,
    *,
    consumer: bool = True,
    analyzer: Analyzer | Callable[[], Analyzer] | None = None,
) -> web.Application:
    """The service: Kafka consumer (unless ``consumer=False``) and the HTTP routes."""
    app = web.Application()
    app[SETTINGS] = settings

    async def core(app: web.Application) -> AsyncIterator[None]:
        app[REGISTRY] = load_registry(settings.departments)
        if isinstance(analyzer, Analyzer):
            app[ANALYZER] = analyzer
        else:
            factory = analyzer or (lambda: load_analyzer(settings))
            app[ANALYZER] = await asyncio.to_thread(factory)
        log.info("model loaded", model_version=app[ANALYZER].classifier.version)
        store = MongoTicketStore(settings.mongodb_uri, settings.db)
        app[STORE] = store
        producer = KafkaProducer(settings.kafka_bootstrap)
        await _until_ok("kafka producer", producer.start)
        app[PRODUCER] = producer
        await _until_ok(
            "kafka topics",
            lambda: ensure_topics(settings.kafka_bootstrap, settings.topics, app[REGISTRY]),
        )
        indexes = asyncio.create_task(_until_ok("mongodb indexes", store.ensure_indexes))
        yield
        indexes.cancel()
        await producer.stop()
        await store.close()

    async def stream(app: web.Application) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(1, thread_name_prefix="classify")
        member = TicketConsumer(
            settings,
            store=app[STORE],
            producer=app[PRODUCER],
            analyzer=app[ANALYZER],
            registry=app[REGISTRY],
            executor=executor,
        )
        app[CONSUMER] = member
        app[CONSUMER_TASK] = asyncio.create_task(member.run(), name="consumer")
        yield
        member.stop()
        try:
            await app[CONSUMER_TASK]
        except Exception:  # reported by serve already; closing must go on
            log.exception("consumer failed")
        executor.shutdown(wait=True)

    app.cleanup_ctx.append(core)
    if consumer:
        app.cleanup_ctx.append(stream)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def _until_ok(what: str, action: Callable[[], object]) -> None:
    backoff = Backoff()
    while True:
        try:
            result = action()
            if asyncio.iscoroutine(result):
                await result
        except Exception as exc:  # noqa: BLE001 - any failure here is retried, and logged
            delay = backoff.step()
            log.warning(
                "start-up step failed, retrying",
                step=what,
                error=type(exc).__name__,
                retry_in_s=delay,
            )
            await asyncio.sleep(delay)
        else:
            return


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: one check per dependency, each named with its state; 503 if one fails."""
    app = request.app
    checks: dict[str, dict[str, object]] = {}

    async def check(name: str, probe: Callable[[], object]) -> None:
        try:
            result = probe()
            if asyncio.iscoroutine(result):
                await asyncio.wait_for(result, CHECK_TIMEOUT_S)
            checks[name] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - a failing probe is the answer, not an error
            checks[name] = {"ok": False, "error": type(exc).__name__}

    await asyncio.gather(check("kafka", app[PRODUCER].ping), check("mongodb", app[STORE].ping))
    checks["model"] = {"ok": True, "version": app[ANALYZER].classifier.version}
    if CONSUMER_TASK in app:
        task = app[CONSUMER_TASK]
        checks["consumer"] = {"ok": not task.done(), "partitions": len(app[CONSUMER].assignment)}
    ok = all(c["ok"] for c in checks.values())
    return web.json_response(
        {"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503
    )
