from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import Base
from app.exceptions import DomainError


class SqlRepository:
    """Shared plumbing of the SQLAlchemy repositories."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _insert_or_raise(self, instance: Base, error: type[DomainError]) -> None:
        """Insert inside a savepoint: a unique violation raises ``error`` and leaves the session usable."""
        try:
            async with self.session.begin_nested():
                self.session.add(instance)
        except IntegrityError as exc:
            raise error from exc

    async def _flush_or_raise(self, error: type[DomainError]) -> None:
        """Flush pending changes; on a unique violation roll the unit of work back and raise ``error``."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            raise error from exc
