"""The access-token check on PostgreSQL: which tokens find their user, read on the driver."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.database import ReadDatabase
from app.exceptions import InvalidTokenError
from app.models.post import Post
from app.models.user import User
from app.repositories.post_repository import PostRepository
from app.repositories.token_queries import SignedInUser, TokenQueries
from app.repositories.token_repository import TokenRepository
from tests.factories import UserFactory

pytestmark = pytest.mark.integration

LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture
def queries(db_connection: AsyncConnection) -> TokenQueries:
    return TokenQueries(ReadDatabase(connection=db_connection))


@pytest.fixture
def tokens(db_session: AsyncSession) -> TokenRepository:
    return TokenRepository(db_session)


@pytest.fixture
async def alice(db_session: AsyncSession) -> User:
    return await UserFactory.create(db_session, is_verified=True)


async def open_session(db_session: AsyncSession, tokens: TokenRepository, user: User) -> uuid.UUID:
    family = await tokens.create_family(user.id, LATER)
    await db_session.commit()
    return family.id


class TestSignedInUser:
    async def test_a_live_token_finds_every_column_of_its_user(
        self, queries: TokenQueries, db_session: AsyncSession, tokens: TokenRepository, alice: User
    ) -> None:
        family_id = await open_session(db_session, tokens, alice)

        found = await queries.signed_in_user(alice.id, uuid.uuid4(), family_id)

        assert found == SignedInUser(
            id=alice.id,
            email=alice.email,
            username=alice.username,
            created_at=alice.created_at,
            is_active=True,
            is_verified=True,
            is_superuser=False,
            updated_at=alice.updated_at,
        )

    async def test_a_token_without_a_session_needs_only_its_user(self, queries: TokenQueries, alice: User) -> None:
        found = await queries.signed_in_user(alice.id, uuid.uuid4(), None)

        assert found is not None
        assert found.id == alice.id

    async def test_a_revoked_token_finds_nothing(
        self, queries: TokenQueries, db_session: AsyncSession, tokens: TokenRepository, alice: User
    ) -> None:
        family_id = await open_session(db_session, tokens, alice)
        revoked, live = uuid.uuid4(), uuid.uuid4()
        await tokens.revoke_access_token(revoked, LATER)
        await db_session.commit()

        assert await queries.signed_in_user(alice.id, revoked, family_id) is None
        assert await queries.signed_in_user(alice.id, revoked, None) is None
        assert await queries.signed_in_user(alice.id, live, family_id) is not None

    async def test_a_token_of_a_revoked_or_unknown_session_finds_nothing(
        self, queries: TokenQueries, db_session: AsyncSession, tokens: TokenRepository, alice: User
    ) -> None:
        ended, live = await open_session(db_session, tokens, alice), await open_session(db_session, tokens, alice)
        await tokens.revoke_family(ended, datetime.now(UTC))
        await db_session.commit()

        assert await queries.signed_in_user(alice.id, uuid.uuid4(), ended) is None
        assert await queries.signed_in_user(alice.id, uuid.uuid4(), uuid.uuid4()) is None
        assert await queries.signed_in_user(alice.id, uuid.uuid4(), live) is not None

    async def test_a_deactivated_or_unknown_user_is_not_found(
        self, queries: TokenQueries, db_session: AsyncSession
    ) -> None:
        inactive = await UserFactory.create(db_session, is_active=False)

        assert await queries.signed_in_user(inactive.id, uuid.uuid4(), None) is None
        assert await queries.signed_in_user(inactive.id + 1000, uuid.uuid4(), None) is None

    async def test_a_session_of_another_user_does_not_sign_anyone_in(
        self, queries: TokenQueries, db_session: AsyncSession, tokens: TokenRepository, alice: User
    ) -> None:
        bob = await UserFactory.create(db_session)
        bobs_session = await open_session(db_session, tokens, bob)

        assert await queries.signed_in_user(alice.id, uuid.uuid4(), bobs_session) is None
        assert await queries.signed_in_user(bob.id, uuid.uuid4(), bobs_session) is not None


class TestPostOfAGoneAuthor:
    async def test_an_insert_for_an_account_deleted_after_the_token_check_is_refused_as_unauthenticated(
        self, db_session: AsyncSession
    ) -> None:
        gone = await UserFactory.create(db_session)
        await db_session.delete(gone)
        await db_session.commit()

        with pytest.raises(InvalidTokenError):
            await PostRepository(db_session).create(Post(title="t", content="c", published=True, user_id=gone.id))
