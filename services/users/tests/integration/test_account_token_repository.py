"""``AccountTokenRepository`` on PostgreSQL: one live token per account and purpose, found by digest
and purpose, locked while it is used, gone with its account."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models.account_token import AccountToken, TokenPurpose
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepository
from tests.factories import UserFactory
from tests.support.locks import wait_until_a_backend_waits_for_a_lock

LATER = datetime.now(UTC) + timedelta(hours=1)


async def count(session: AsyncSession) -> int:
    return int((await session.scalar(select(func.count()).select_from(AccountToken))) or 0)


@pytest.mark.integration
class TestAccountTokenRepository:
    async def test_replace_keeps_one_token_per_purpose_the_last(self, db_session: AsyncSession, user: User) -> None:
        tokens = AccountTokenRepository(db_session)
        await tokens.replace(user.id, TokenPurpose.RESET_PASSWORD, "a" * 64, user.email, LATER)

        await tokens.replace(user.id, TokenPurpose.RESET_PASSWORD, "b" * 64, user.email, LATER + timedelta(hours=1))

        assert await tokens.get_for_use("a" * 64, TokenPurpose.RESET_PASSWORD) is None
        found = await tokens.get_for_use("b" * 64, TokenPurpose.RESET_PASSWORD)
        assert found is not None
        assert found.expires_at == LATER + timedelta(hours=1)
        assert await count(db_session) == 1

    async def test_each_purpose_has_its_own_token(self, db_session: AsyncSession, user: User) -> None:
        tokens = AccountTokenRepository(db_session)
        await tokens.replace(user.id, TokenPurpose.RESET_PASSWORD, "a" * 64, user.email, LATER)
        await tokens.replace(user.id, TokenPurpose.VERIFY_EMAIL, "b" * 64, user.email, LATER)

        assert await tokens.get_for_use("a" * 64, TokenPurpose.VERIFY_EMAIL) is None
        assert await tokens.get_for_use("b" * 64, TokenPurpose.VERIFY_EMAIL) is not None
        assert await count(db_session) == 2

    async def test_discard_deletes_one_purpose_of_one_account(self, db_session: AsyncSession, user: User) -> None:
        other = await UserFactory.create(db_session)
        tokens = AccountTokenRepository(db_session)
        await tokens.replace(user.id, TokenPurpose.RESET_PASSWORD, "a" * 64, user.email, LATER)
        await tokens.replace(user.id, TokenPurpose.VERIFY_EMAIL, "b" * 64, user.email, LATER)
        await tokens.replace(other.id, TokenPurpose.RESET_PASSWORD, "c" * 64, other.email, LATER)

        await tokens.discard(user.id, TokenPurpose.RESET_PASSWORD)

        remaining = {row.token_hash for row in (await db_session.scalars(select(AccountToken))).all()}
        assert remaining == {"b" * 64, "c" * 64}

    async def test_tokens_go_with_their_account(self, db_session: AsyncSession, user: User) -> None:
        await AccountTokenRepository(db_session).replace(
            user.id, TokenPurpose.VERIFY_EMAIL, "a" * 64, user.email, LATER
        )

        await db_session.delete(user)
        await db_session.flush()

        assert await count(db_session) == 0


@pytest.mark.integration
async def test_a_token_being_used_is_locked_and_the_second_user_finds_it_gone(
    test_engine: AsyncEngine, live_user: User
) -> None:
    """Two transactions use one token: the second waits for the first, then finds nothing."""
    async with AsyncSession(test_engine) as setup, setup.begin():
        await AccountTokenRepository(setup).replace(
            live_user.id, TokenPurpose.RESET_PASSWORD, "d" * 64, live_user.email, LATER
        )
    async with AsyncSession(test_engine) as first, AsyncSession(test_engine) as second:
        await first.begin()
        first_tokens = AccountTokenRepository(first)
        assert await first_tokens.get_for_use("d" * 64, TokenPurpose.RESET_PASSWORD) is not None
        waiting = asyncio.create_task(AccountTokenRepository(second).get_for_use("d" * 64, TokenPurpose.RESET_PASSWORD))
        await wait_until_a_backend_waits_for_a_lock(test_engine)
        await first_tokens.discard(live_user.id, TokenPurpose.RESET_PASSWORD)
        await first.commit()

        assert await waiting is None
