"""The app factory: every service is created here, once, and closed through ``cleanup_ctx``.

Handlers reach services through the typed keys of ``triage.service.keys``
(``request.app[STORE]``), so the HTTP API can grow in its own modules on top of
``create_app`` without touching the wiring.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import structlog
from aiohttp import web

from streams.batch import Analyzer
from streams.consumer import Backoff, TicketConsumer
from streams.events import EventConsumer
from streams.hotspots import HotspotConsumer
from streams.producer import KafkaProducer
from streams.similar_feed import SimilarFeed
from streams.topics import ensure_topics
from triage.adapters.activation import FolderCatalog, ModelSlot, poll_activations
from triage.adapters.hotspot_tracker import HotspotTracker, SimilarIndex
from triage.adapters.model_cache import default_folder, startup_folder
from triage.adapters.recent_reads import RecentReads
from triage.adapters.registry_file import load_registry
from triage.adapters.shadow import poll_shadow
from triage.adapters.store import (
    MongoHotspotStore,
    MongoModelFiles,
    MongoShadowState,
    MongoTicketStore,
)
from triage.core.deadlines import Deadlines, department_deadlines
from triage.core.hotspots import DetectorConfig
from triage.core.settings import MODELS_DIR, Settings
from triage.service import dashboard
from triage.service.api import add_api_routes
from triage.service.api.auth import TokenSet, load_tokens
from triage.service.keys import (
    ANALYZER,
    CATALOG,
    CONSUMER,
    CONSUMER_TASK,
    DEADLINES,
    EVENTS_TASK,
    HOTSPOT_STORE,
    HOTSPOTS,
    HOTSPOTS_CONSUMER,
    HOTSPOTS_TASK,
    MODEL,
    PRODUCER,
    RECENT_HOTSPOTS,
    RECENT_TICKETS,
    REGISTRY,
    SETTINGS,
    SHADOW,
    STORE,
)
from triage.service.metrics import install as install_metrics

__all__ = ["create_app", "load_analyzer"]

log = structlog.get_logger("triage.service.app")

CHECK_TIMEOUT_S = 3.0


def load_analyzer(settings: Settings, spec: str | None = None) -> Analyzer:
    """The real text preparation and model, or ``module:function`` returning an Analyzer."""
    if spec:
        module, _, name = spec.partition(":")
        factory: Callable[[], Analyzer] = getattr(importlib.import_module(module), name)
        return factory()
    # Imported here: the pure model code is heavy and not needed by `--no-consumer` tooling.
    from triage.adapters.artifact import active_model_path, load_model
    from triage.core.text import prepare

    folder = settings.model or active_model_path(settings.models_dir)
    return Analyzer(prepare=prepare, classifier=load_model(folder))


def create_app(
    settings: Settings,
    *,
    consumer: bool = True,
    analyzer: Analyzer | Callable[[], Analyzer] | None = None,
    catalog: FolderCatalog | None = None,
    tokens: TokenSet | None = None,
    events: bool | None = None,
    similar: bool = True,
) -> web.Application:
    """The service: the stages of ``settings.stages`` (none with ``consumer=False``), the HTTP
    API, model polling.

    ``events`` runs the ``hotline.events`` consumer or not, whatever the stages say;
    ``similar`` keeps the window that answers `similar` (only a process serving the API needs
    it); ``tokens`` replaces the ``TRIAGE_TOKENS_FILE`` tokens and ``catalog`` the ``models/``
    folder.
    """
    stages = set(settings.stages) if consumer else set()
    if events is not None:
        stages = stages | {"events"} if events else stages - {"events"}
    detecting = settings.hotspot_window_days > 0
    config = DetectorConfig(window_days=max(settings.hotspot_window_days, 1))
    app = web.Application(client_max_size=settings.http_max_bytes)
    app[SETTINGS] = settings
    registry = load_registry(settings.departments)
    app[REGISTRY] = registry
    default = Deadlines(float(settings.accept_hours), float(settings.resolve_hours))
    app[DEADLINES] = department_deadlines(registry, default)
    app[CATALOG] = catalog or FolderCatalog(settings.models_dir)
    if tokens is None:
        tokens = load_tokens(settings.tokens_file, registry)
    install_metrics(app)  # first, so its timing middleware also sees the API's refusals
    add_api_routes(app, tokens)
    dashboard.add_routes(app)

    async def core(app: web.Application) -> AsyncIterator[None]:
        store = MongoTicketStore(
            settings.mongodb_uri, settings.db, counters=settings.stats_counters
        )
        app[STORE] = store
        catalog = app[CATALOG]
        if catalog.files is None:
            catalog.files = MongoModelFiles(store)
        model_files = catalog.files
        hotspot_store = MongoHotspotStore(settings.mongodb_uri, settings.db)
        app[HOTSPOT_STORE] = hotspot_store
        app[RECENT_TICKETS], app[RECENT_HOTSPOTS] = RecentReads(), RecentReads()
        app[SHADOW] = MongoShadowState(store)
        producer = KafkaProducer(settings.kafka_bootstrap)
        await _until_ok("kafka producer", producer.start)
        app[PRODUCER] = producer
        await _until_ok(
            "kafka topics",
            lambda: ensure_topics(settings.kafka_bootstrap, settings.topics, app[REGISTRY]),
        )
        topics = settings.topics
        wanted = {topics.tickets, topics.events, topics.decided, topics.detected}

        async def topics_visible() -> None:
            # A topic just created can be missing from the metadata for a moment; a consumer
            # subscribing then would not look again for minutes (metadata_max_age_ms).
            missing = wanted - await producer.topics()
            if missing:
                raise LookupError(f"topics not in metadata yet: {sorted(missing)}")

        await _until_ok("kafka topic metadata", topics_visible)

        async def ensure_indexes() -> None:
            await store.ensure_indexes()
            await hotspot_store.ensure_indexes()
            await model_files.ensure_indexes()

        # Before anything writes: creating an index creates its collection, and SecantusDB
        # 0.7.0b3 livelocks when that races the insert that would create it too.
        await _until_ok("mongodb indexes", ensure_indexes)
        if isinstance(analyzer, Analyzer):
            app[ANALYZER] = analyzer
        elif analyzer is not None:
            app[ANALYZER] = await asyncio.to_thread(analyzer)
        else:
            app[ANALYZER] = await _stored_model(settings, catalog, store)
        app[MODEL] = ModelSlot(app[ANALYZER])
        log.info("model loaded", model_version=app[ANALYZER].classifier.version)
        stop_polling = asyncio.Event()
        poller = asyncio.create_task(
            poll_activations(
                slot=app[MODEL],
                catalog=app[CATALOG],
                store=store,
                interval_s=settings.model_poll_ms / 1000,
                stop=stop_polling,
            ),
            name="model-poll",
        )
        shadow_poller = asyncio.create_task(
            poll_shadow(
                slot=app[MODEL],
                catalog=app[CATALOG],
                state=app[SHADOW],
                interval_s=settings.model_poll_ms / 1000,
                stop=stop_polling,
            ),
            name="shadow-poll",
        )
        yield
        stop_polling.set()
        await asyncio.gather(poller, shadow_poller, return_exceptions=True)
        await producer.stop()
        await store.close()
        await hotspot_store.close()

    async def stream(app: web.Application) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(1, thread_name_prefix="classify")
        member = TicketConsumer(
            settings,
            store=app[STORE],
            producer=app[PRODUCER],
            analyzer=app[MODEL].analyzer,
            registry=app[REGISTRY],
            executor=executor,
        )

        def follow(new: Analyzer) -> None:
            # Read by the loop once per batch: the next batch is classified by the new model.
            member.analyzer = new

        app[MODEL].listeners.append(follow)
        app[CONSUMER] = member
        app[CONSUMER_TASK] = asyncio.create_task(member.run(), name="consumer")
        yield
        await _stop_member(member, app[CONSUMER_TASK], "consumer failed", executor)

    async def hotspot_stream(app: web.Application) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(1, thread_name_prefix="hotspots")
        member = HotspotConsumer(
            settings,
            tracker=HotspotTracker(app[HOTSPOT_STORE], config),
            producer=app[PRODUCER],
            executor=executor,
        )
        app[HOTSPOTS_CONSUMER] = member
        app[HOTSPOTS_TASK] = asyncio.create_task(member.run(), name="hotspots-consumer")
        yield
        await _stop_member(member, app[HOTSPOTS_TASK], "hot-spot consumer failed", executor)

    async def similar_window(app: web.Application) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(1, thread_name_prefix="similar")
        index = SimilarIndex(app[HOTSPOT_STORE], config)
        feed = SimilarFeed(settings, index, executor=executor)
        # Built before the API answers, so that no replica answers from an empty window.
        await _until_ok("similar-ticket window", feed.open)
        app[HOTSPOTS] = index
        stop = asyncio.Event()
        following = asyncio.create_task(feed.run(stop), name="similar-feed")
        yield
        stop.set()
        await asyncio.gather(following, return_exceptions=True)
        executor.shutdown(wait=True)

    async def outcome_stream(app: web.Application) -> AsyncIterator[None]:
        member = EventConsumer(
            settings, store=app[STORE], producer=app[PRODUCER], registry=app[REGISTRY]
        )
        app[EVENTS_TASK] = asyncio.create_task(member.run(), name="events-consumer")
        yield
        await _stop_member(member, app[EVENTS_TASK], "events consumer failed")

    app.cleanup_ctx.append(core)
    if detecting and similar:
        app.cleanup_ctx.append(similar_window)
    if "routing" in stages:
        app.cleanup_ctx.append(stream)
    if detecting and "hotspots" in stages:
        app.cleanup_ctx.append(hotspot_stream)
    if "events" in stages:
        app.cleanup_ctx.append(outcome_stream)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def _stored_model(
    settings: Settings, catalog: FolderCatalog, store: MongoTicketStore
) -> Analyzer:
    """The model a replica starts with: TRIAGE_MODEL when set, else the latest activation's
    version, copied from the model store when this replica's models folder lacks it."""
    if settings.model is not None or catalog.files is None:
        return await asyncio.to_thread(load_analyzer, settings)
    default = default_folder(settings.models_dir, MODELS_DIR)
    files = catalog.files
    chosen: list[Path] = []

    async def resolve() -> None:
        chosen.append(await startup_folder(files, store, settings.models_dir, default))

    await _until_ok("model store", resolve)
    return await asyncio.to_thread(catalog.load, chosen[-1])


class _Member(Protocol):
    def stop(self) -> None: ...


async def _stop_member(
    member: _Member,
    task: asyncio.Task[None],
    failure: str,
    executor: ThreadPoolExecutor | None = None,
) -> None:
    """Ask a consumer to finish its batch in hand, wait for it, then for its worker thread."""
    member.stop()
    try:
        await task
    except Exception:  # reported by serve already; closing must go on
        log.exception(failure)
    if executor is not None:
        executor.shutdown(wait=True)


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
    checks["model"] = {"ok": True, "version": app[MODEL].version}
    if CONSUMER_TASK in app:
        task = app[CONSUMER_TASK]
        checks["consumer"] = {"ok": not task.done(), "partitions": len(app[CONSUMER].assignment)}
    if HOTSPOTS_TASK in app:
        checks["hotspots_consumer"] = {
            "ok": not app[HOTSPOTS_TASK].done(),
            "owner": app[HOTSPOTS_CONSUMER].owns,
        }
    if EVENTS_TASK in app:
        checks["events_consumer"] = {"ok": not app[EVENTS_TASK].done()}
    ok = all(c["ok"] for c in checks.values())
    return web.json_response(
        {"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503
    )
