from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, exists, func, select

from app.database import ReadDatabase, driver_statement
from app.exceptions import UserAlreadyExistsError, UserNotFoundError
from app.models.user import User
from app.repositories.base import SqlRepository


class PublicProfileRow(NamedTuple):
    id: int
    email: str
    username: str
    created_at: datetime


#: The hot read's SQL, compiled once from the model and run straight on the driver:
#: SQLAlchemy's execution layer would double the CPU cost of this read.
_PUBLIC_PROFILE_SQL = driver_statement(
    select(User.id, User.email, User.username, User.created_at).where(User.id == bindparam("user_id"), User.is_active)
)


class PublicProfile(Protocol):
    """The columns of a user that anyone may read (deactivated accounts have none)."""

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
    async def get_for_update(self, user_id: int) -> User | None:
        """The user as committed now, row-locked (``FOR UPDATE``) until the transaction ends.

        Taken before a password, an account's state or the account itself changes: a login that
        holds the row (``get_for_share``) finishes first, and one that comes later waits and sees
        the change.
        """
        ...

    async def list_users(
        self, *, email_prefix: str | None, is_active: bool | None, limit: int, offset: int
    ) -> Sequence[User]:
        """Accounts by id, optionally those whose email starts with ``email_prefix`` (any letter
        case, taken literally) and those with this ``is_active``."""
        ...

    async def has_superuser(self) -> bool: ...
    async def delete(self, user: User) -> None:
        """Delete the account and, with it (``ON DELETE CASCADE``), its posts, sessions and tokens."""
        ...

    async def get_for_share(self, user_id: int) -> User | None:
        """The user as committed now, locked against ``get_for_update`` (``FOR KEY SHARE``) until
        the transaction ends: what a login checked stays true until its session is committed."""
        ...


class UserRepository(SqlRepository):
    async def create(self, user: User) -> User:
        """Insert ``user``; a taken email or username (any letter case) raises ``UserAlreadyExistsError``."""
        self.session.add(user)
        await self._flush_or_raise(UserAlreadyExistsError)
        return user

    async def get_by_id(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        # Both sides lowered by PostgreSQL: Python's lower() differs for some letters ("İ").
        statement = select(User).where(func.lower(User.email) == func.lower(email))
        return (await self.session.scalars(statement)).first()

    async def update(self, user: User) -> User:
        await self._flush_or_raise(UserAlreadyExistsError)
        return user

    async def get_for_update(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id, with_for_update=True, populate_existing=True)

    async def list_users(
        self, *, email_prefix: str | None, is_active: bool | None, limit: int, offset: int
    ) -> Sequence[User]:
        statement = select(User).order_by(User.id).limit(limit).offset(offset)
        if email_prefix is not None:
            literal = email_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(func.lower(User.email).like(func.lower(literal).concat("%"), escape="\\"))
        if is_active is not None:
            statement = statement.where(User.is_active.is_(is_active))
        return (await self.session.scalars(statement)).all()

    async def has_superuser(self) -> bool:
        return bool(await self.session.scalar(select(exists().where(User.is_superuser))))

    async def delete(self, user: User) -> None:
        await self.session.delete(user)
        await self.session.flush()

    async def get_for_share(self, user_id: int) -> User | None:
        key_share = {"read": True, "key_share": True}  # FOR KEY SHARE: blocks FOR UPDATE, not updates
        return await self.session.get(User, user_id, with_for_update=key_share, populate_existing=True)


class UserQueries:
    """Read-only user queries, run through a :class:`ReadDatabase` (no transaction needed)."""

    def __init__(self, read_db: ReadDatabase) -> None:
        self._read_db = read_db

    async def get_public_profile(self, user_id: int) -> PublicProfile | None:
        """The hot read path: one SELECT of four columns, no entity, no session."""
        async with self._read_db.driver_connection() as driver:
            record = await driver.fetchrow(
                _PUBLIC_PROFILE_SQL.sql, *_PUBLIC_PROFILE_SQL.arguments({"user_id": user_id})
            )
        return PublicProfileRow(*record) if record is not None else None

    async def require_public_profile(self, user_id: int) -> PublicProfile:
        profile = await self.get_public_profile(user_id)
        if profile is None:
            raise UserNotFoundError
        return profile
