"""The unit of work: the one place a transaction is committed.

The request boundary (``get_db``, behind ``app.api.deps.SessionDep``) commits when the handler
succeeds and rolls back when it fails. A service that must keep part of its work *although* the
request fails (a refresh token family revoked on reuse, then the request refused) says so
explicitly: it commits through this port, then raises. Repositories never commit or roll back.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class UnitOfWork(Protocol):
    async def commit(self) -> None:
        """Make everything done so far durable, whatever happens to the rest of the request."""
        ...


class SqlUnitOfWork:
    """The request's session as a unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def commit(self) -> None:
        await self._session.commit()
