"""Liveness and readiness endpoints: ``/health/live`` checks nothing, ``/health/ready`` runs the
service's probes, each with a deadline (:func:`servicekit.readiness.check`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

from servicekit.errors import error_responses
from servicekit.readiness import CHECK_TIMEOUT_SECONDS, CheckResult, check

#: A service's readiness probes for one request, by name: each awaitable fails or hangs when down.
Probes = Callable[[Request], Mapping[str, Awaitable[None]]]

__all__ = ["CHECK_TIMEOUT_SECONDS", "HealthResponse", "Probes", "ReadinessResponse", "health_router", "ping_database"]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessResponse(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckResult]


def health_router(probes: Probes, *, ready_description: str, unready_description: str) -> APIRouter:
    """The ``/health`` routes of a service whose readiness is ``probes`` (documented as given)."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", responses=error_responses(uses_database=False))
    async def live() -> HealthResponse:
        """The process is up and serving; it checks nothing else."""
        return HealthResponse()

    @router.get(
        "/ready",
        description=ready_description,
        responses={
            **error_responses(uses_database=False),
            503: {"model": ReadinessResponse, "description": unready_description},
        },
    )
    async def ready(request: Request, response: Response) -> ReadinessResponse:
        # The deadline is read on each call, so a test can shorten it.
        checks = {name: await check(probe, CHECK_TIMEOUT_SECONDS) for name, probe in probes(request).items()}
        healthy = all(result == "ok" for result in checks.values())
        if not healthy:
            response.status_code = 503
        return ReadinessResponse(status="ok" if healthy else "unavailable", checks=checks)

    return router


async def ping_database(request: Request) -> None:
    """A probe: one ``SELECT 1`` on a connection of the app's engine."""
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
