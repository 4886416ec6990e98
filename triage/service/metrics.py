"""Prometheus metrics of the service, in a registry of its own.

A registry per app (not prometheus_client's global one) keeps two apps in one process, as in
the tests, from colliding on metric names. ``GET /metrics`` is unauthenticated on purpose:
Prometheus scrapes it on the private network, and it carries counts and versions only, never
ticket text or personal data. Expose the HTTP port to the public only behind a proxy that
does not forward ``/metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from streams.batch import Plan
from triage.core.stats import reason_kind
from triage.service.keys import CONSUMER, MODEL

__all__ = ["METRICS", "Metrics", "install"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    """The service's metrics; also the consumer's observer (``streams.consumer.Observer``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.tickets = Counter(
            "triage_tickets",
            "Messages handled by the consumer, by outcome (routed, review, deadletter)",
            ["outcome"],
            registry=r,
        )
        self.deadletters = Counter(
            "triage_deadletters",
            "Messages refused, by the kind of reason (schema, invalid JSON, not UTF-8, ...)",
            ["reason"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "triage_batch_seconds",
            "From a batch fetched to its offsets committed (classify, store, publish, commit)",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.http_seconds = Histogram(
            "triage_http_request_seconds",
            "HTTP request latency by method, route template and status",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.lag = Gauge(
            "triage_consumer_lag",
            "Messages not yet consumed: high watermark minus position, per partition",
            ["topic", "partition"],
            registry=r,
        )
        self.model = Info("triage_model", "The model version classifying tickets", registry=r)

    # --- streams.consumer.Observer ---

    def batch_committed(self, plan: Plan, seconds: float) -> None:
        for record in plan.records:
            self.tickets.labels("routed" if record.decision.kind == "routed" else "review").inc()
        for dead in plan.deadletters:
            self.tickets.labels("deadletter").inc()
            self.deadletters.labels(reason_kind(dead.reason)).inc()
        self.batch_seconds.observe(seconds)

    def partition_lag(self, topic: str, partition: int, lag: int) -> None:
        self.lag.labels(topic, str(partition)).set(lag)

    def partitions_revoked(self, partitions: Iterable[tuple[str, int]]) -> None:
        # Another member owns them now and reports their lag; a stale value would add up twice.
        for topic, partition in partitions:
            try:
                self.lag.remove(topic, str(partition))
            except KeyError:
                continue

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


def _route(request: web.Request) -> str:
    # The template, never the raw path: ticket ids in paths would make a series per ticket.
    info = request.match_info
    if info.http_exception is not None:
        return "unmatched"
    return info.route.resource.canonical if info.route.resource is not None else "unmatched"


@web.middleware
async def _timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[METRICS]
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
    except web.HTTPException as exc:
        status = exc.status
        raise
    else:
        return response
    finally:
        metrics.http_seconds.labels(request.method, _route(request), str(status)).observe(
            time.perf_counter() - start
        )


async def metrics_handler(request: web.Request) -> web.Response:
    """Prometheus text exposition; the model version is read at scrape time (it can change)."""
    app = request.app
    metrics = app[METRICS]
    if MODEL in app:
        metrics.model.info({"version": app[MODEL].version})
    return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def install(app: web.Application, metrics: Metrics | None = None) -> Metrics:
    """Add the metrics, the timing middleware, ``GET /metrics`` and the consumer observer.

    Call it before the API's middlewares are added, so the timing sees every response
    (401s from the token check included); a second call returns the installed metrics.
    """
    if METRICS in app:
        return app[METRICS]
    metrics = metrics or Metrics()
    app[METRICS] = metrics
    app.middlewares.append(_timing)
    app.router.add_get("/metrics", metrics_handler)

    async def observe_consumer(app: web.Application) -> None:
        # Runs after the cleanup contexts have started, so the consumer exists if enabled.
        if CONSUMER in app:
            app[CONSUMER].observer = metrics

    app.on_startup.append(observe_consumer)
    return metrics
