"""The repositories' row locks on PostgreSQL, each from two real sessions (committed rows).

A login holds the account row with ``get_for_share`` (``FOR KEY SHARE``) until its session is
committed; a password reset, change or deactivation takes it with ``get_for_update``. What a
locking read returns is the row as committed now, not a copy the session loaded earlier. A
session that should not wait runs under a ``lock_timeout``, so a wrong lock fails the test at
once instead of hanging it; one that must wait is shown waiting by the same timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models.account_token import AccountToken, TokenPurpose
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepository
from app.repositories.user_repository import UserRepository
from app.utils.tokens import token_digest
from tests.support.account import issue_token

pytestmark = pytest.mark.integration

#: Long past any lock that is not held, short enough that a wrong lock fails the test quickly.
NO_WAIT = "'5s'"
#: A lock that is held makes a waiter wait forever: this only has to be noticed.
MUST_WAIT = "'200ms'"


@asynccontextmanager
async def in_transaction(engine: AsyncEngine, lock_timeout: str) -> AsyncIterator[AsyncSession]:
    """A session in a transaction under ``lock_timeout``; closing the session rolls it back."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await session.execute(text(f"SET LOCAL lock_timeout = {lock_timeout}"))
        yield session


@pytest.fixture
async def login_holding_the_row(test_engine: AsyncEngine, live_user: User) -> AsyncIterator[AsyncSession]:
    """A session that has checked ``live_user``'s password, as a login does: the row held for share."""
    async with in_transaction(test_engine, NO_WAIT) as session:
        assert await UserRepository(session).get_for_share(live_user.id) is not None
        yield session


async def test_a_login_holding_the_row_lets_another_login_through(
    test_engine: AsyncEngine, live_user: User, login_holding_the_row: AsyncSession
) -> None:
    async with in_transaction(test_engine, NO_WAIT) as other:
        assert await UserRepository(other).get_for_share(live_user.id) is not None


async def test_a_login_holding_the_row_lets_an_ordinary_update_through(
    test_engine: AsyncEngine, live_user: User, login_holding_the_row: AsyncSession
) -> None:
    """Not a lock of the whole row: an update of a column no key uses (``is_verified``) goes on."""
    async with in_transaction(test_engine, NO_WAIT) as other:
        result = await other.execute(update(User).where(User.id == live_user.id).values(is_verified=True))
        assert result.rowcount == 1  # type: ignore[attr-defined]  # CursorResult of an UPDATE


async def test_a_login_holding_the_row_makes_a_password_change_wait(
    test_engine: AsyncEngine, live_user: User, login_holding_the_row: AsyncSession
) -> None:
    async with in_transaction(test_engine, MUST_WAIT) as other:
        with pytest.raises(DBAPIError, match="lock timeout"):
            await UserRepository(other).get_for_update(live_user.id)


async def test_a_row_locked_for_update_is_read_as_committed_now(test_engine: AsyncEngine, live_user: User) -> None:
    """The session loaded the user before another transaction changed the password: the locking
    read must not hand back the copy the session already holds."""
    async with AsyncSession(test_engine, expire_on_commit=False) as session, session.begin():
        assert (await session.get(User, live_user.id)) is not None
        async with test_engine.begin() as other:
            await other.execute(update(User).where(User.id == live_user.id).values(hashed_password="changed"))

        locked = await UserRepository(session).get_for_update(live_user.id)

        assert locked is not None
        assert locked.hashed_password == "changed"


async def test_a_token_locked_for_use_is_read_as_committed_now(test_engine: AsyncEngine, live_user: User) -> None:
    async with AsyncSession(test_engine, expire_on_commit=False) as setup, setup.begin():
        token = await issue_token(setup, live_user, TokenPurpose.RESET_PASSWORD)
    digest = token_digest(token)
    expired = datetime.now(UTC) - timedelta(minutes=1)
    async with AsyncSession(test_engine, expire_on_commit=False) as session, session.begin():
        assert (await session.scalars(select(AccountToken).where(AccountToken.token_hash == digest))).one()
        async with test_engine.begin() as other:
            expire = update(AccountToken).where(AccountToken.token_hash == digest).values(expires_at=expired)
            await other.execute(expire)

        locked = await AccountTokenRepository(session).get_for_use(digest, TokenPurpose.RESET_PASSWORD)

        assert locked is not None
        assert locked.expires_at == expired
