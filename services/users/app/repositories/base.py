from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.exceptions import DomainError


class SqlRepository:
    """Shared plumbing of the SQLAlchemy repositories. They add, flush and query; they never
    commit or roll back: the unit of work (the request boundary) owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _flush_or_raise(self, error: type[DomainError]) -> None:
        """Flush pending changes; a unique violation raises ``error``.

        The failed flush leaves the transaction unusable, so ``error`` must end the request: the
        request boundary then rolls the whole transaction back (nothing is half-written).
        """
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise error from exc
