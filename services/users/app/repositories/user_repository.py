from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, func, select

from app.database import read_only_connection
from app.exceptions import UserAlreadyExistsError
from app.models.user import User
from app.repositories.base import SqlRepository

#: Built once: the hot read path should not rebuild (and re-coerce) its statement per request.
_PUBLIC_PROFILE_BY_ID = select(User.id, User.email, User.username, User.created_at).where(
    User.id == bindparam("user_id")
)


class PublicProfile(Protocol):
    """The columns of a user that anyone may read."""

    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


class UserRepositoryPort(Protocol):
    """What the services need from user storage (the SQL adapter or an in-memory fake)."""

    async def create(self, user: User) -> User: ...
    async def get_by_id(self, user_id: int) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def update(self, user: User) -> User: ...
    async def get_public_profile(self, user_id: int) -> PublicProfile | None: ...


class UserRepository(SqlRepository):
    async def create(self, user: User) -> User:
        """Insert ``user``; a taken email or username (any letter case) raises ``UserAlreadyExistsError``."""
        await self._insert_or_raise(user, UserAlreadyExistsError)
        return user

    async def get_by_id(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        statement = select(User).where(func.lower(User.email) == email.lower())
        return (await self.session.scalars(statement)).first()

    async def update(self, user: User) -> User:
        await self._flush_or_raise(UserAlreadyExistsError)
        return user

    async def get_public_profile(self, user_id: int) -> PublicProfile | None:
        """The hot read path: one autocommit SELECT of four columns, no entity, no transaction."""
        connection = await read_only_connection(self.session)
        result = await connection.execute(_PUBLIC_PROFILE_BY_ID, {"user_id": user_id})
        return result.first()
