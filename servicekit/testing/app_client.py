"""An httpx client over a running app (lifespan run, ASGI transport), optionally inside a test's transaction.

Inside a transaction, every request still runs the production request boundary
(:func:`servicekit.database.transaction_scope`, what ``get_db`` runs), each in a savepoint of the
test's connection: the boundary's commit releases the savepoint, its rollback undoes the request
alone, and the test's outer transaction, rolled back afterwards, isolates the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from servicekit.database import ReadDatabase, create_session_factory, transaction_scope
from servicekit.dependencies import get_db, get_read_db

_LOCK_KEY = "request_session_lock"


def run_inside(application: FastAPI, connection: AsyncConnection) -> None:
    """Run every request of ``application`` inside ``connection``'s open transaction.

    ``get_db`` keeps its request boundary (:func:`transaction_scope`, as in production) but its
    sessions join the transaction through a savepoint each: the boundary's commit releases the
    savepoint, its rollback undoes the request alone. ``get_read_db`` reads on the same
    connection, so it sees what the test and earlier requests wrote.

    One connection holds one stack of savepoints, so requests sent at once (even to several app
    instances on this connection) take turns for their sessions: tests of real concurrency use
    an app with its own sessions (``app_client`` without a connection) instead.
    """
    sessions = create_session_factory(connection, join_transaction_mode="create_savepoint")
    one_request_at_a_time: asyncio.Lock = connection.info.setdefault(_LOCK_KEY, asyncio.Lock())

    async def override_get_db() -> AsyncIterator[AsyncSession]:
        async with one_request_at_a_time, transaction_scope(sessions) as session:
            yield session

    async def override_get_read_db() -> ReadDatabase:
        return ReadDatabase(connection=connection)

    application.dependency_overrides[get_db] = override_get_db
    application.dependency_overrides[get_read_db] = override_get_read_db


@asynccontextmanager
async def app_client(
    application: FastAPI,
    connection: AsyncConnection | None = None,
    client_host: str = "127.0.0.1",
    *,
    raise_app_exceptions: bool = True,
) -> AsyncIterator[AsyncClient]:
    """Run ``application`` and yield a client of it; with ``connection``, inside its transaction.

    ``raise_app_exceptions=False`` answers an unhandled error with the app's 500, as a server would.
    """
    if connection is not None:
        run_inside(application, connection)
    try:
        async with LifespanManager(application) as manager:
            transport = ASGITransport(
                app=manager.app, client=(client_host, 40_000), raise_app_exceptions=raise_app_exceptions
            )
            async with AsyncClient(transport=transport, base_url="http://test") as client:
                yield client
    finally:
        application.dependency_overrides.clear()


async def response_when_a_route_raises(
    application: FastAPI, error: BaseException, headers: Mapping[str, str] | None = None
) -> Response:
    """What ``application`` (fresh, lifespan not run) answers when a route raises ``error``."""

    @application.get("/raises")
    async def raises() -> None:
        raise error

    transport = ASGITransport(app=application, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/raises", headers=headers)
