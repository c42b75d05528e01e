"""An httpx client over a running instance of the app (lifespan run, ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import ReadDatabase, get_db, get_read_db
from app.main import create_app


def share_session(application: FastAPI, db_session: AsyncSession) -> None:
    """Point both database dependencies of ``application`` at ``db_session``.

    ``get_db`` (the request's session) and ``get_read_db`` (the transaction-free read side), so
    every request reads and writes inside the test's transaction.
    """

    async def override_get_db() -> AsyncIterator[AsyncSession]:
        yield db_session

    async def override_get_read_db() -> ReadDatabase:
        return ReadDatabase(session=db_session)

    application.dependency_overrides[get_db] = override_get_db
    application.dependency_overrides[get_read_db] = override_get_read_db


@asynccontextmanager
async def app_client(
    application: FastAPI, db_session: AsyncSession | None = None, client_host: str = "127.0.0.1"
) -> AsyncIterator[AsyncClient]:
    """Run ``application`` and yield a client of it; with ``db_session``, inside that session."""
    if db_session is not None:
        share_session(application, db_session)
    try:
        async with LifespanManager(application) as manager:
            transport = ASGITransport(app=manager.app, client=(client_host, 40_000))
            async with AsyncClient(transport=transport, base_url="http://test") as client:
                yield client
    finally:
        application.dependency_overrides.clear()


async def response_when_a_route_raises(error: BaseException) -> Response:
    """What a fresh app answers when a route raises ``error`` (exceptions not re-raised)."""
    application = create_app()

    @application.get("/raises")
    async def raises() -> None:
        raise error

    transport = ASGITransport(app=application, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/raises")
