"""Revoking login sessions in PostgreSQL: only the sessions meant, and only once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.token import TokenFamily
from app.repositories.token_repository import TokenRepository
from tests.factories import UserFactory

FIRST_REVOCATION = datetime(2026, 1, 1, tzinfo=UTC)
LATER = FIRST_REVOCATION + timedelta(days=1)


async def revoked_at(session: AsyncSession, family_id: uuid.UUID) -> datetime | None:
    return await session.scalar(select(TokenFamily.revoked_at).where(TokenFamily.id == family_id))


@pytest.fixture
def tokens(db_session: AsyncSession) -> TokenRepository:
    return TokenRepository(db_session)


async def open_family(tokens: TokenRepository, user_id: int) -> uuid.UUID:
    family = await tokens.create_family(user_id, datetime.now(UTC) + timedelta(days=14))
    return family.id


@pytest.mark.integration
class TestRevokeOtherFamilies:
    async def test_ends_the_users_other_sessions_only(self, db_session: AsyncSession, tokens: TokenRepository) -> None:
        alice = await UserFactory.create(db_session)
        bob = await UserFactory.create(db_session)
        kept, other = await open_family(tokens, alice.id), await open_family(tokens, alice.id)
        bobs = await open_family(tokens, bob.id)

        await tokens.revoke_other_families(alice.id, kept, LATER)

        assert await revoked_at(db_session, other) == LATER
        assert await revoked_at(db_session, kept) is None
        assert await revoked_at(db_session, bobs) is None

    async def test_keeps_the_time_a_session_was_first_revoked(
        self, db_session: AsyncSession, tokens: TokenRepository
    ) -> None:
        alice = await UserFactory.create(db_session)
        ended = await open_family(tokens, alice.id)
        await tokens.revoke_family(ended, FIRST_REVOCATION)

        await tokens.revoke_other_families(alice.id, None, LATER)

        assert await revoked_at(db_session, ended) == FIRST_REVOCATION


@pytest.mark.integration
class TestRevokeFamily:
    async def test_a_second_revocation_keeps_the_first_time(
        self, db_session: AsyncSession, tokens: TokenRepository
    ) -> None:
        alice = await UserFactory.create(db_session)
        family = await open_family(tokens, alice.id)
        await tokens.revoke_family(family, FIRST_REVOCATION)

        await tokens.revoke_family(family, LATER)

        assert await revoked_at(db_session, family) == FIRST_REVOCATION
