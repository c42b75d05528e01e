"""The request's database dependencies: its session, committed at the request boundary, and the read side.

A service's lifespan keeps ``session_factory`` and ``read_db`` on ``app.state``; its routers take
:data:`SessionDep` and :data:`ReadDbDep`. Tests override :func:`get_db` and :func:`get_read_db`
(:mod:`servicekit.testing.app_client`) and keep the same boundary code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.database import ReadDatabase, transaction_scope


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; commits when the handler succeeds, rolls back otherwise.

    Declared with ``scope="function"`` (see :data:`SessionDep`), so the commit happens before
    the response is sent: a 2xx always means the write is durable.
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with transaction_scope(factory) as session:
        yield session


async def get_read_db(request: Request) -> ReadDatabase:
    """The application's read side (a plain dependency: no per-request set-up or teardown)."""
    read_db: ReadDatabase = request.app.state.read_db
    return read_db


#: ``scope="function"``: the session commits after the handler returns and *before* the response
#: is sent, so an acknowledged write is durable.
SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]
ReadDbDep = Annotated[ReadDatabase, Depends(get_read_db)]
