"""Liveness and readiness (servicekit's routes). Ready checks the service's own database, not the
users service."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from fastapi import Request

from servicekit.health import health_router, ping_database


def _probes(request: Request) -> Mapping[str, Awaitable[None]]:
    return {"database": ping_database(request)}


router = health_router(
    _probes,
    ready_description="Ready when the database answers. A users service outage is not this service's.",
    unready_description="The database is down",
)
