"""The request id passed on to other services, and the worker's metrics served on a port."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from devtools.net import free_port
from servicekit.metrics import WorkerMetrics, serve_metrics
from servicekit.observability import (
    RequestLogMiddleware,
    current_request_id,
    propagate_request_id,
    request_id_headers,
)


async def test_outgoing_calls_carry_the_request_id_being_served() -> None:
    seen: list[str | None] = []

    def downstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-Request-ID"))
        return httpx.Response(204)

    app = FastAPI()

    @app.get("/call")
    async def call() -> dict[str, str]:
        transport = httpx.MockTransport(downstream)
        async with httpx.AsyncClient(transport=transport, event_hooks={"request": [propagate_request_id]}) as client:
            await client.get("http://users.internal/api/v1/users/1")
        return request_id_headers()

    app.add_middleware(RequestLogMiddleware)

    async def with_request_id(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = {"request_id": "req-7"}
        await app(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_request_id), base_url="http://t") as client:
        response = await client.get("/call")

    assert seen == ["req-7"]
    assert response.json() == {"X-Request-ID": "req-7"}
    assert current_request_id() is None
    assert request_id_headers() == {}


def test_worker_metrics_are_served_on_their_own_port() -> None:
    metrics = WorkerMetrics()
    metrics.processed.inc(3)
    metrics.retried.inc()
    metrics.queue_depth.set(5)
    metrics.oldest_job_age.set(12.5)
    server, thread = serve_metrics(metrics.registry, free_port())
    try:
        exposition = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5.0).text
    finally:
        server.shutdown()
        thread.join(5.0)

    values = {s.name: s.value for f in text_string_to_metric_families(exposition) for s in f.samples}
    assert values["jobs_processed_total"] == 3
    assert values["jobs_retried_total"] == 1
    assert values["jobs_failed_total"] == 0
    assert values["job_queue_depth"] == 5
    assert values["job_queue_oldest_age_seconds"] == 12.5
