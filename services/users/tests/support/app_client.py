"""An httpx client over a running instance of the app (lifespan run, ASGI transport)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.database import ReadDatabase, create_session_factory, get_db, get_read_db, transaction_scope
from app.main import create_app


def run_inside(application: FastAPI, connection: AsyncConnection) -> None:
    """Run every request of ``application`` inside ``connection``'s open transaction.

    ``get_db`` keeps its request boundary (:func:`app.database.transaction_scope`, as in
    production) but its sessions join the transaction through a savepoint each: the boundary's
    commit releases the savepoint, its rollback undoes the request alone. ``get_read_db`` reads
    on the same connection, so it sees what the test and earlier requests wrote.

    One connection holds one stack of savepoints, so requests sent at once (even to several app
    instances on this connection) take turns for their sessions: tests of real concurrency use
    ``live_client`` instead.
    """
    sessions = create_session_factory(connection, join_transaction_mode="create_savepoint")
    one_request_at_a_time: asyncio.Lock = connection.info.setdefault("request_session_lock", asyncio.Lock())

    async def override_get_db() -> AsyncIterator[AsyncSession]:
        async with one_request_at_a_time, transaction_scope(sessions) as session:
            yield session

    async def override_get_read_db() -> ReadDatabase:
        return ReadDatabase(connection=connection)

    application.dependency_overrides[get_db] = override_get_db
    application.dependency_overrides[get_read_db] = override_get_read_db


@asynccontextmanager
async def app_client(
    application: FastAPI, connection: AsyncConnection | None = None, client_host: str = "127.0.0.1"
) -> AsyncIterator[AsyncClient]:
    """Run ``application`` and yield a client of it; with ``connection``, inside its transaction."""
    if connection is not None:
        run_inside(application, connection)
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
