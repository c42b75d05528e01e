"""An httpx client over a running app, each request in a savepoint of the test's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.database import ReadDatabase


def savepoint_per_request(db_session: AsyncSession) -> Callable[[], AsyncIterator[AsyncSession]]:
    """A ``get_db`` override: each request in a savepoint committed or rolled back like ``get_db``.

    The request boundary behaves as in production (a handler that raises after a write leaves
    nothing; a committed write is seen by the next request) while the test's outer transaction
    still isolates the test.
    """

    async def request_in_savepoint() -> AsyncIterator[AsyncSession]:
        savepoint = await db_session.begin_nested()
        try:
            yield db_session
        except BaseException:
            if savepoint.is_active:
                await savepoint.rollback()
            raise
        if savepoint.is_active:
            await savepoint.commit()

    return request_in_savepoint


def share_session(
    application: FastAPI, db_session: AsyncSession, *, get_db: Callable[..., Any], get_read_db: Callable[..., Any]
) -> None:
    """Point both database dependencies of ``application`` at ``db_session``.

    ``get_db`` (the request's session, one savepoint per request) and ``get_read_db`` (the
    transaction-free read side), so every request reads and writes inside the test's transaction.
    """

    async def read_in_session() -> ReadDatabase:
        return ReadDatabase(session=db_session)

    application.dependency_overrides[get_db] = savepoint_per_request(db_session)
    application.dependency_overrides[get_read_db] = read_in_session


@asynccontextmanager
async def running_app_client(
    application: FastAPI, client_host: str = "127.0.0.1", *, raise_app_exceptions: bool = True
) -> AsyncIterator[AsyncClient]:
    """Run ``application`` (lifespan included) and yield a client of it over ASGI.

    ``raise_app_exceptions=False`` answers an unhandled error with the app's 500, as a server would.
    """
    try:
        async with LifespanManager(application) as manager:
            transport = ASGITransport(
                app=manager.app, client=(client_host, 40_000), raise_app_exceptions=raise_app_exceptions
            )
            async with AsyncClient(transport=transport, base_url="http://test") as client:
                yield client
    finally:
        application.dependency_overrides.clear()
