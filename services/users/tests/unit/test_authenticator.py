"""``Authenticator`` and ``user_to_change`` on in-memory fakes: which tokens let a request in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from unittest.mock import create_autospec

import pytest
from pydantic import SecretStr

from app.config import Settings
from app.exceptions import InvalidTokenError
from app.models.user import User
from app.repositories.token_queries import SignedInUser, SignedInUsers
from app.services.authenticator import Authenticator, user_to_change
from app.utils.jwt import create_access_token
from tests.unit.fakes import FakeTokenRepository, FakeUserRepository

pytestmark = pytest.mark.unit

SETTINGS = Settings(environment="test", secret_key=SecretStr("unit-test-authenticator-key-0123456789abcdef"))


@pytest.fixture
async def alice(users: FakeUserRepository) -> User:
    return await users.create(User(email="alice@example.com", username="alice", hashed_password="h"))


@pytest.fixture
def authenticator(sessions: FakeTokenRepository) -> Authenticator:
    return Authenticator(sessions, SETTINGS)


async def session_token(sessions: FakeTokenRepository, user: User) -> tuple[str, uuid.UUID]:
    family = await sessions.create_family(user.id, datetime.now(UTC) + timedelta(hours=1))
    return create_access_token({"sub": str(user.id), "sid": str(family.id)}, settings=SETTINGS), family.id


class TestAuthenticate:
    async def test_a_valid_token_yields_its_user_row_and_claims(
        self, authenticator: Authenticator, sessions: FakeTokenRepository, alice: User
    ) -> None:
        token, family_id = await session_token(sessions, alice)

        user, claims = await authenticator.authenticate(token)

        assert user == SignedInUser(
            id=alice.id,
            email="alice@example.com",
            username="alice",
            created_at=alice.created_at,
            is_active=True,
            is_verified=False,
            is_superuser=False,
            updated_at=alice.updated_at,
        )
        assert (claims.user_id, claims.session_id) == (alice.id, family_id)

    async def test_a_token_without_a_session_is_checked_by_its_user_and_id(
        self, authenticator: Authenticator, alice: User
    ) -> None:
        token = create_access_token({"sub": str(alice.id)}, settings=SETTINGS)

        user, claims = await authenticator.authenticate(token)

        assert user.id == alice.id
        assert claims.session_id is None

    async def test_a_revoked_token_is_refused(
        self, authenticator: Authenticator, sessions: FakeTokenRepository, alice: User
    ) -> None:
        token, _ = await session_token(sessions, alice)
        _, claims = await authenticator.authenticate(token)
        await sessions.revoke_access_token(claims.jti, claims.expires_at)

        with pytest.raises(InvalidTokenError):
            await authenticator.authenticate(token)

    async def test_a_token_of_a_revoked_session_is_refused(
        self, authenticator: Authenticator, sessions: FakeTokenRepository, alice: User
    ) -> None:
        token, family_id = await session_token(sessions, alice)
        await sessions.revoke_family(family_id, datetime.now(UTC))

        with pytest.raises(InvalidTokenError):
            await authenticator.authenticate(token)

    async def test_a_token_naming_another_users_session_is_refused(
        self, authenticator: Authenticator, sessions: FakeTokenRepository, users: FakeUserRepository, alice: User
    ) -> None:
        bob = await users.create(User(email="bob@example.com", username="bob", hashed_password="h"))
        _, bobs_session = await session_token(sessions, bob)
        token = create_access_token({"sub": str(alice.id), "sid": str(bobs_session)}, settings=SETTINGS)

        with pytest.raises(InvalidTokenError):
            await authenticator.authenticate(token)

    async def test_a_token_of_a_deactivated_or_deleted_user_is_refused(
        self, authenticator: Authenticator, users: FakeUserRepository, alice: User
    ) -> None:
        token = create_access_token({"sub": str(alice.id)}, settings=SETTINGS)
        alice.is_active = False

        with pytest.raises(InvalidTokenError):
            await authenticator.authenticate(token)

        await users.delete(alice)
        with pytest.raises(InvalidTokenError):
            await authenticator.authenticate(token)

    async def test_a_bad_token_never_reaches_the_database(self) -> None:
        check = create_autospec(SignedInUsers, instance=True)

        with pytest.raises(InvalidTokenError):
            await Authenticator(check, SETTINGS).authenticate("garbage")

        check.signed_in_user.assert_not_awaited()

    async def test_a_token_signed_with_another_key_is_refused(self, alice: User) -> None:
        check = create_autospec(SignedInUsers, instance=True)
        other = Settings(environment="test", secret_key=SecretStr("another-key-entirely-0123456789abcdef0123"))
        token = create_access_token({"sub": str(alice.id)}, settings=other)

        with pytest.raises(InvalidTokenError):
            await Authenticator(check, SETTINGS).authenticate(token)

        check.signed_in_user.assert_not_awaited()


class TestUserToChange:
    async def test_is_the_entity_of_the_signed_in_user(
        self, authenticator: Authenticator, users: FakeUserRepository, alice: User
    ) -> None:
        signed_in, _ = await authenticator.authenticate(create_access_token({"sub": str(alice.id)}, settings=SETTINGS))

        assert await user_to_change(users, signed_in) is alice

    async def test_refuses_an_account_deactivated_since_the_check(
        self, authenticator: Authenticator, users: FakeUserRepository, alice: User
    ) -> None:
        signed_in, _ = await authenticator.authenticate(create_access_token({"sub": str(alice.id)}, settings=SETTINGS))
        alice.is_active = False

        with pytest.raises(InvalidTokenError):
            await user_to_change(users, signed_in)

    async def test_refuses_an_account_deleted_since_the_check(
        self, authenticator: Authenticator, users: FakeUserRepository, alice: User
    ) -> None:
        signed_in, _ = await authenticator.authenticate(create_access_token({"sub": str(alice.id)}, settings=SETTINGS))
        await users.delete(alice)

        with pytest.raises(InvalidTokenError):
            await user_to_change(users, signed_in)
