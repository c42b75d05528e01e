from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from app.api.errors import error_responses
from app.schemas.health import HealthResponse, ReadinessResponse

router = APIRouter(prefix="/health", tags=["health"])

_CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/live", responses=error_responses(uses_database=False))
async def live() -> HealthResponse:
    """The process is up and serving; it checks nothing else."""
    return HealthResponse()


@router.get(
    "/ready",
    responses={
        **error_responses(uses_database=False),
        503: {"model": ReadinessResponse, "description": "A dependency is down"},
    },
)
async def ready(request: Request, response: Response) -> ReadinessResponse:
    """Ready when the database (and the throttle store, if shared) answer."""
    checks = {
        "database": await _check(_ping_database(request)),
        "throttle_store": await _check(request.app.state.login_throttle.ping()),
    }
    healthy = all(result == "ok" for result in checks.values())
    if not healthy:
        response.status_code = 503
    return ReadinessResponse(status="ok" if healthy else "unavailable", checks=checks)


async def _ping_database(request: Request) -> None:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check(probe: Awaitable[None]) -> str:
    try:
        await asyncio.wait_for(probe, _CHECK_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return "failed"
    return "ok"
