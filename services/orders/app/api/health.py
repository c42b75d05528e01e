"""Liveness and readiness. Ready checks the service's own database, not the users service."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

from app.api.errors import error_responses
from servicekit.readiness import CheckResult, check

router = APIRouter(prefix="/health", tags=["health"])


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessResponse(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckResult]


@router.get("/live", responses=error_responses(uses_database=False))
async def live() -> HealthResponse:
    """The process is up and serving; it checks nothing else."""
    return HealthResponse()


@router.get(
    "/ready",
    responses={
        **error_responses(uses_database=False),
        503: {"model": ReadinessResponse, "description": "The database is down"},
    },
)
async def ready(request: Request, response: Response) -> ReadinessResponse:
    """Ready when the database answers. A users service outage is not this service's."""
    checks = {"database": await check(_ping_database(request))}
    healthy = all(result == "ok" for result in checks.values())
    if not healthy:
        response.status_code = 503
    return ReadinessResponse(status="ok" if healthy else "unavailable", checks=checks)


async def _ping_database(request: Request) -> None:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
