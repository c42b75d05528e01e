"""Liveness and readiness (servicekit's routes). Ready checks the database and the throttle store."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from fastapi import Request

from servicekit.health import health_router, ping_database


def _probes(request: Request) -> Mapping[str, Awaitable[None]]:
    return {"database": ping_database(request), "throttle_store": request.app.state.login_throttle.ping()}


router = health_router(
    _probes,
    ready_description="Ready when the database (and the throttle store, if shared) answer.",
    unready_description="A dependency is down",
)
