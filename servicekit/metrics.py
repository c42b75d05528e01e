"""Prometheus metrics with prometheus_client: HTTP, database pool, and a worker's building blocks.

Every app gets its own :class:`~prometheus_client.CollectorRegistry` (a process may build several
apps, as tests do), exposed at ``GET /metrics`` in the text format. The HTTP middleware is pure
ASGI and keeps the labelled children it has used, so a request costs a dict lookup, a counter
increment, a histogram observation and a gauge increment and decrement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from threading import Thread
from typing import Final
from wsgiref.simple_server import WSGIServer

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.pool import Pool, QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.observability import ObservabilitySettings, response_status, route_template

METRICS_PATH: Final = "/metrics"
#: Any other method is counted as ``OTHER``: a client must not be able to mint label values.
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class HttpMetrics:
    """The request metrics of one app, and the label children already in use."""

    registry: CollectorRegistry
    requests: Counter = field(init=False)
    latency: Histogram = field(init=False)
    in_flight: Gauge = field(init=False)
    _children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter(
            "http_requests", "HTTP requests answered, by route template", labels, registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to answer, by route template", labels, registry=self.registry
        )
        self.in_flight = Gauge("http_requests_in_flight", "Requests being served now", registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in _METHODS else "OTHER", route, status)
        children = self._children.get(key)
        if children is None:
            labels = (key[0], route, str(status))
            children = self._children[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)


class MetricsMiddleware:
    """Counts and times every HTTP request except the scrapes of ``/metrics`` themselves."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            status = response_status(message, status)
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException:
            status = 500
            raise
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe(scope["method"], route_template(scope), status, time.perf_counter() - started)


class PoolCollector(Collector):
    """The connection pool's in-use and idle connections, read at scrape time."""

    def __init__(self, pool: Callable[[], Pool | None]) -> None:
        self._pool = pool

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        pool = self._pool()
        if isinstance(pool, QueuePool):
            family.add_metric(["in_use"], pool.checkedout())
            family.add_metric(["idle"], pool.checkedin())
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("db_pool_connections", "Database pool connections by state", labels=["state"])


def engine_pool(app: FastAPI) -> Callable[[], Pool | None]:
    """``pool`` for :func:`install_metrics`: the pool of ``app.state.engine`` once the lifespan
    has made the engine (None before)."""

    def pool() -> Pool | None:
        engine = getattr(app.state, "engine", None)
        return engine.pool if engine is not None else None

    return pool


def install_metrics(
    app: FastAPI, *, settings: ObservabilitySettings, pool: Callable[[], Pool | None] | None = None
) -> CollectorRegistry:
    """``GET /metrics`` and the request metrics for ``app``; returns its registry for more metrics.

    ``pool`` returns the engine's pool when asked (the engine is made in the lifespan). With
    ``METRICS_ENABLED=false`` nothing is installed; the registry still takes metrics, unexposed.
    """
    registry = CollectorRegistry()
    if not settings.metrics_enabled:
        return registry
    if pool is not None:
        registry.register(PoolCollector(pool))
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
    return registry


@dataclass
class WorkerMetrics:
    """What a queue worker reports: jobs processed, failed and retried; queue depth and age.

    The worker increments the counters as it handles jobs and sets the gauges each time it polls
    the queue; :func:`serve_metrics` exposes them.
    """

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    processed: Counter = field(init=False)
    failed: Counter = field(init=False)
    retried: Counter = field(init=False)
    queue_depth: Gauge = field(init=False)
    oldest_job_age: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.processed = Counter("jobs_processed", "Jobs completed", registry=self.registry)
        self.failed = Counter("jobs_failed", "Jobs failed for good", registry=self.registry)
        self.retried = Counter("jobs_retried", "Job attempts that failed and were rescheduled", registry=self.registry)
        self.queue_depth = Gauge("job_queue_depth", "Jobs waiting in the queue", registry=self.registry)
        self.oldest_job_age = Gauge(
            "job_queue_oldest_age_seconds", "Age of the oldest waiting job (0 when none)", registry=self.registry
        )


def serve_metrics(registry: CollectorRegistry, port: int, host: str = "127.0.0.1") -> tuple[WSGIServer, Thread]:
    """Serve ``registry`` at ``http://host:port/metrics`` from a daemon thread (for a worker).

    Stop it with ``server.shutdown()`` then ``thread.join()``.
    """
    return start_http_server(port, addr=host, registry=registry)
