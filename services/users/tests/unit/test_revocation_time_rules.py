"""A session's revocation is recorded at the current instant, whatever the server's time zone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest.mock import AsyncMock, create_autospec, patch

import pytest
from pydantic import SecretStr

from app.config import Settings
from app.models.user import User
from app.repositories.token_repository import TokenRepositoryPort
from app.repositories.user_repository import UserRepositoryPort
from app.schemas.user import UserUpdate
from app.services.account_tokens import EmailVerification
from app.services.auth_service import AuthService, LoginAttemptLimiter
from app.services.limits import RateLimiter
from app.services.profile_service import ProfileService
from app.unit_of_work import UnitOfWork
from app.utils.jwt import AccessTokenClaims
from app.utils.throttle import InMemoryFailureCounter, LoginThrottle, ThrottleRule
from tests.factories import UserFactory
from tests.support.time_zone import local_time_zone
from tests.unit.fakes import FakeAccountTokenRepository, FakeNotifier, FakeTokenRepository, FakeUserRepository

SETTINGS = Settings(environment="test", secret_key=SecretStr("unit-test-secret-key-" + "0123456789" * 4))


@pytest.fixture(autouse=True)
def far_from_utc() -> Iterator[None]:
    with local_time_zone():
        yield


def assert_is_now(moment: datetime, *, since: datetime) -> None:
    assert since <= moment <= datetime.now(UTC)


@pytest.mark.unit
async def test_logout_revokes_the_session_at_the_current_instant() -> None:
    tokens: AsyncMock = create_autospec(TokenRepositoryPort, instance=True)
    service = AuthService(
        create_autospec(UserRepositoryPort, instance=True),
        tokens,
        create_autospec(LoginAttemptLimiter, instance=True),
        create_autospec(UnitOfWork, instance=True),
        SETTINGS,
        limits=create_autospec(RateLimiter, instance=True),
    )
    session_id = uuid.uuid4()
    claims = AccessTokenClaims(7, uuid.uuid4(), datetime.now(UTC) + timedelta(minutes=5), session_id)
    before = datetime.now(UTC)

    await service.logout(claims)

    tokens.revoke_family.assert_awaited_once()
    revoked, revoked_at = tokens.revoke_family.await_args.args
    assert revoked == session_id
    assert_is_now(revoked_at, since=before)


@pytest.mark.unit
async def test_an_email_change_ends_the_other_sessions_at_the_current_instant() -> None:
    users = FakeUserRepository()
    tokens = FakeTokenRepository(users)
    throttle = LoginThrottle(
        InMemoryFailureCounter(), account_rule=ThrottleRule("account", 5, 60), client_rule=ThrottleRule("client", 5, 60)
    )
    owner: User = await users.create(UserFactory.build(email="owner@example.com", hashed_password="stored-hash"))
    expires_at = datetime.now(UTC) + timedelta(days=1)
    current = await tokens.create_family(owner.id, expires_at)
    other = await tokens.create_family(owner.id, expires_at)
    before = datetime.now(UTC)

    with patch("app.services.passwords.verify_password", autospec=True, return_value=True):
        notifier = FakeNotifier()
        verification = EmailVerification(FakeAccountTokenRepository(), notifier, timedelta(hours=1))
        await ProfileService(users, tokens, throttle, verification, notifier).update_own_profile(
            owner, owner.id, UserUpdate(email="new@example.com", current_password="right password"), current.id
        )

    assert current.revoked_at is None
    assert other.revoked_at is not None
    assert_is_now(other.revoked_at, since=before)
