"""``AuthService`` with its repositories and throttle mocked: the decisions, not the storage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest.mock import AsyncMock, MagicMock, call, create_autospec, patch

import pytest
from pydantic import SecretStr

from app.config import Settings
from app.exceptions import (
    AccountDisabledTokenError,
    EmailNotVerifiedError,
    InvalidCredentialsError,
    InvalidTokenError,
    RefreshTokenReusedError,
    TooManyAttemptsError,
)
from app.models.token import RefreshToken, TokenFamily
from app.models.user import User
from app.repositories.token_repository import TokenRepositoryPort
from app.repositories.user_repository import UserRepositoryPort
from app.services.auth_service import AuthService, LoginAttemptLimiter
from app.services.limits import Limit, RateLimiter
from app.unit_of_work import UnitOfWork
from app.utils.jwt import AccessTokenClaims, decode_access_token
from app.utils.tokens import hash_refresh_token

SETTINGS = Settings(
    environment="test",
    secret_key=SecretStr("unit-test-auth-service-key-0123456789abcdef"),
    access_token_ttl_seconds=300,
    refresh_token_ttl_seconds=3600,
)
EMAIL = "alice@example.com"
PASSWORD = "SecurePass123!"
CLIENT = "203.0.113.7"


def now() -> datetime:
    return datetime.now(UTC)


def family(**overrides: object) -> TokenFamily:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": 7,
        "expires_at": now() + timedelta(hours=1),
        "revoked_at": None,
    }
    values.update(overrides)
    return TokenFamily(**values)


def refresh_row(family_id: uuid.UUID, **overrides: object) -> RefreshToken:
    values: dict[str, object] = {
        "family_id": family_id,
        "token_hash": hash_refresh_token("presented"),
        "expires_at": now() + timedelta(hours=1),
        "used_at": None,
    }
    values.update(overrides)
    return RefreshToken(**values)


# Every mock is specified by the port it stands for: a removed or renamed method fails the test.
@pytest.fixture
def users() -> AsyncMock:
    mock: AsyncMock = create_autospec(UserRepositoryPort, instance=True)
    return mock


@pytest.fixture
def tokens() -> AsyncMock:
    repository: AsyncMock = create_autospec(TokenRepositoryPort, instance=True)
    repository.create_family.side_effect = lambda user_id, expires_at: family(user_id=user_id, expires_at=expires_at)
    return repository


@pytest.fixture
def throttle() -> AsyncMock:
    """A login throttle that lets the attempt through."""
    limiter: AsyncMock = create_autospec(LoginAttemptLimiter, instance=True)
    limiter.begin_attempt.return_value = None
    return limiter


@pytest.fixture
def unit_of_work(tokens: AsyncMock) -> AsyncMock:
    """Records, at each commit, the families revoked so far: what the commit made durable."""
    mock: AsyncMock = create_autospec(UnitOfWork, instance=True)
    mock.committed_revocations = []
    mock.commit.side_effect = lambda: mock.committed_revocations.append(
        [revoke.args[0] for revoke in tokens.revoke_family.await_args_list]
    )
    return mock


@pytest.fixture
def limits() -> AsyncMock:
    """Rate limits that let every request through."""
    mock: AsyncMock = create_autospec(RateLimiter, instance=True)
    mock.hit.return_value = None
    return mock


@pytest.fixture
def service(
    users: AsyncMock, tokens: AsyncMock, throttle: AsyncMock, unit_of_work: AsyncMock, limits: AsyncMock
) -> AuthService:
    return AuthService(users, tokens, throttle, unit_of_work, SETTINGS, limits=limits)


@pytest.fixture
def alice(users: AsyncMock) -> User:
    user = User(id=7, email=EMAIL, username="alice", hashed_password="stored-hash", is_active=True)
    users.get_by_email.return_value = user
    users.get_for_share.return_value = user  # the row locked for the new session, unchanged
    return user


@pytest.fixture
def password_ok() -> Iterator[MagicMock]:
    with (
        patch("app.services.user_service.verify_password", autospec=True, return_value=True) as verify,
        patch("app.services.auth_service.needs_rehash", autospec=True, return_value=False),
    ):
        yield verify


@pytest.fixture
def password_wrong() -> Iterator[MagicMock]:
    with patch("app.services.user_service.verify_password", autospec=True, return_value=False) as verify:
        yield verify


@pytest.mark.unit
class TestLogin:
    async def test_success_opens_a_family_and_issues_a_pair(
        self, service: AuthService, tokens: AsyncMock, throttle: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        before = now()

        pair = await service.login(EMAIL, PASSWORD, CLIENT)

        assert throttle.mock_calls == [call.begin_attempt(EMAIL, CLIENT), call.record_success(EMAIL, CLIENT)]
        user_id, expires_at = tokens.create_family.await_args.args
        assert user_id == alice.id
        assert before + timedelta(seconds=SETTINGS.refresh_token_ttl_seconds) <= expires_at
        family_id, stored_hash, token_expires_at = tokens.add_refresh_token.await_args.args
        assert stored_hash == hash_refresh_token(pair.refresh_token)
        assert pair.refresh_token not in stored_hash
        assert token_expires_at == expires_at
        claims = decode_access_token(pair.access_token, settings=SETTINGS)
        assert (claims.user_id, claims.session_id) == (alice.id, family_id)
        assert pair.expires_in == SETTINGS.access_token_ttl_seconds

    async def test_attempt_is_counted_before_the_password_is_checked(
        self, service: AuthService, throttle: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        counted_when_checked: list[int] = []
        password_ok.side_effect = lambda *_: counted_when_checked.append(throttle.begin_attempt.await_count) or True

        await service.login(EMAIL, PASSWORD, CLIENT)

        assert counted_when_checked == [1]

    async def test_success_is_recorded_only_after_the_password_is_checked(
        self, service: AuthService, throttle: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        recorded_when_checked: list[int] = []
        password_ok.side_effect = lambda *_: recorded_when_checked.append(throttle.record_success.await_count) or True

        await service.login(EMAIL, PASSWORD, CLIENT)

        assert recorded_when_checked == [0]
        throttle.record_success.assert_awaited_once_with(EMAIL, CLIENT)

    async def test_success_is_recorded_with_the_email_as_given(
        self, service: AuthService, throttle: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        await service.login(" Alice@Example.com", PASSWORD, CLIENT)

        throttle.begin_attempt.assert_awaited_once_with(" Alice@Example.com", CLIENT)
        throttle.record_success.assert_awaited_once_with(" Alice@Example.com", CLIENT)

    async def test_bad_password_only_counts_the_attempt(
        self, service: AuthService, tokens: AsyncMock, throttle: AsyncMock, alice: User, password_wrong: MagicMock
    ) -> None:
        with pytest.raises(InvalidCredentialsError):
            await service.login(EMAIL, "wrong", CLIENT)

        password_wrong.assert_called_once_with("wrong", alice.hashed_password)
        assert throttle.mock_calls == [call.begin_attempt(EMAIL, CLIENT)]
        throttle.record_success.assert_not_awaited()
        tokens.create_family.assert_not_awaited()
        tokens.add_refresh_token.assert_not_awaited()

    async def test_unknown_email_only_counts_the_attempt(
        self, service: AuthService, users: AsyncMock, tokens: AsyncMock, throttle: AsyncMock
    ) -> None:
        users.get_by_email.return_value = None

        with (
            patch("app.services.user_service.dummy_verify", autospec=True) as dummy,
            pytest.raises(InvalidCredentialsError),
        ):
            await service.login("nobody@example.com", PASSWORD, CLIENT)

        dummy.assert_called_once_with(PASSWORD)
        assert throttle.mock_calls == [call.begin_attempt("nobody@example.com", CLIENT)]
        tokens.create_family.assert_not_awaited()

    async def test_inactive_user_only_counts_the_attempt(
        self, service: AuthService, tokens: AsyncMock, throttle: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        alice.is_active = False

        with pytest.raises(InvalidCredentialsError):
            await service.login(EMAIL, PASSWORD, CLIENT)

        assert throttle.mock_calls == [call.begin_attempt(EMAIL, CLIENT)]
        tokens.create_family.assert_not_awaited()

    async def test_throttled_login_is_refused_without_touching_the_repositories(
        self, service: AuthService, users: AsyncMock, tokens: AsyncMock, throttle: AsyncMock, password_ok: MagicMock
    ) -> None:
        throttle.begin_attempt.return_value = 42

        with pytest.raises(TooManyAttemptsError) as raised:
            await service.login(EMAIL, PASSWORD, CLIENT)

        assert raised.value.retry_after_seconds == 42
        assert throttle.mock_calls == [call.begin_attempt(EMAIL, CLIENT)]
        assert users.mock_calls == []
        assert tokens.mock_calls == []
        password_ok.assert_not_called()

    async def test_outdated_hash_is_upgraded_on_login(
        self, service: AuthService, users: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        with (
            # needs_rehash is already an autospec mock (password_ok): patched again without a spec
            patch("app.services.auth_service.needs_rehash", return_value=True),
            patch("app.services.auth_service.hash_password", autospec=True, return_value="new-hash") as rehash,
        ):
            await service.login(EMAIL, PASSWORD, CLIENT)

        rehash.assert_called_once_with(PASSWORD)
        assert alice.hashed_password == "new-hash"
        users.update.assert_awaited_once_with(alice)

    async def test_current_hash_is_left_alone(
        self, service: AuthService, users: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        await service.login(EMAIL, PASSWORD, CLIENT)

        assert alice.hashed_password == "stored-hash"
        users.update.assert_not_awaited()


@pytest.mark.unit
class TestLoginRacingAPasswordChange:
    """The account row is locked (``get_for_share``) and re-read after the password check: a reset,
    change, deletion or deactivation committed meanwhile refuses the login."""

    async def test_the_row_is_locked_after_the_check_and_before_the_session_opens(
        self, service: AuthService, users: AsyncMock, tokens: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        order: list[str] = []
        password_ok.side_effect = lambda *_: order.append("check") or True
        users.get_for_share.side_effect = lambda user_id: order.append(f"lock {user_id}") or alice
        opened = tokens.create_family.side_effect
        tokens.create_family.side_effect = lambda *args: order.append("session") or opened(*args)

        await service.login(EMAIL, PASSWORD, CLIENT)

        assert order == ["check", f"lock {alice.id}", "session"]

    def changed_meanwhile(self, users: AsyncMock, alice: User, **committed: object) -> None:
        """The locked read sees what a concurrent transaction committed (``populate_existing``)."""

        def locked(_user_id: int) -> User:
            for name, value in committed.items():
                setattr(alice, name, value)
            return alice

        users.get_for_share.side_effect = locked

    @pytest.mark.parametrize(
        "committed",
        [{"hashed_password": "hash-of-the-new-password"}, {"is_active": False}],
        ids=["password-reset", "deactivated"],
    )
    async def test_a_change_committed_meanwhile_refuses_the_login(
        self,
        *,
        service: AuthService,
        users: AsyncMock,
        tokens: AsyncMock,
        throttle: AsyncMock,
        alice: User,
        password_ok: MagicMock,
        committed: dict[str, object],
    ) -> None:
        self.changed_meanwhile(users, alice, **committed)

        with pytest.raises(InvalidCredentialsError):
            await service.login(EMAIL, PASSWORD, CLIENT)

        tokens.create_family.assert_not_awaited()
        throttle.record_success.assert_not_awaited()

    async def test_an_account_deleted_meanwhile_refuses_the_login(
        self, service: AuthService, users: AsyncMock, tokens: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        users.get_for_share.return_value = None

        with pytest.raises(InvalidCredentialsError):
            await service.login(EMAIL, PASSWORD, CLIENT)

        tokens.create_family.assert_not_awaited()


@pytest.fixture
def verified_only(
    users: AsyncMock, tokens: AsyncMock, throttle: AsyncMock, unit_of_work: AsyncMock, limits: AsyncMock
) -> AuthService:
    """The service configured to refuse logins of unverified accounts."""
    settings = SETTINGS.model_copy(update={"allow_unverified_login": False})
    return AuthService(users, tokens, throttle, unit_of_work, settings, limits=limits)


@pytest.mark.unit
class TestLoginOfUnverifiedAccounts:
    async def test_allowed_by_default(self, service: AuthService, alice: User, password_ok: MagicMock) -> None:
        alice.is_verified = False

        pair = await service.login(EMAIL, PASSWORD, CLIENT)

        assert pair.access_token

    async def test_refused_when_the_setting_says_so_and_no_session_opens(
        self, verified_only: AuthService, tokens: AsyncMock, alice: User, password_ok: MagicMock
    ) -> None:
        alice.is_verified = False

        with pytest.raises(EmailNotVerifiedError):
            await verified_only.login(EMAIL, PASSWORD, CLIENT)

        tokens.create_family.assert_not_awaited()

    async def test_a_wrong_password_says_nothing_about_verification(
        self, verified_only: AuthService, alice: User, password_wrong: MagicMock
    ) -> None:
        alice.is_verified = False

        with pytest.raises(InvalidCredentialsError):
            await verified_only.login(EMAIL, "wrong", CLIENT)

    async def test_a_verified_account_logs_in(
        self, verified_only: AuthService, alice: User, password_ok: MagicMock
    ) -> None:
        alice.is_verified = True

        pair = await verified_only.login(EMAIL, PASSWORD, CLIENT)

        assert pair.access_token


@pytest.mark.unit
class TestRefreshLimit:
    async def test_each_rotation_counts_against_its_family(
        self, service: AuthService, tokens: AsyncMock, limits: AsyncMock
    ) -> None:
        current = family()
        tokens.get_for_rotation.return_value = (refresh_row(current.id), current)

        await service.refresh("presented")

        limits.hit.assert_awaited_once_with(Limit.REFRESH_PER_FAMILY, str(current.id))

    async def test_past_the_limit_nothing_rotates_and_the_token_stays_usable(
        self, service: AuthService, tokens: AsyncMock, limits: AsyncMock
    ) -> None:
        current = family()
        tokens.get_for_rotation.return_value = (refresh_row(current.id), current)
        limits.hit.return_value = 42

        with pytest.raises(TooManyAttemptsError) as refused:
            await service.refresh("presented")

        assert refused.value.retry_after_seconds == 42
        tokens.mark_used.assert_not_awaited()
        tokens.add_refresh_token.assert_not_awaited()
        tokens.revoke_family.assert_not_awaited()

    async def test_a_reused_token_is_caught_whatever_the_limit(
        self, service: AuthService, tokens: AsyncMock, limits: AsyncMock
    ) -> None:
        current = family()
        tokens.get_for_rotation.return_value = (refresh_row(current.id, used_at=now()), current)
        limits.hit.return_value = 42

        with pytest.raises(RefreshTokenReusedError):
            await service.refresh("presented")

        tokens.revoke_family.assert_awaited_once()


@pytest.mark.unit
class TestRefresh:
    async def test_rotation_marks_the_token_used_and_issues_a_pair_in_the_same_family(
        self, service: AuthService, tokens: AsyncMock
    ) -> None:
        current = family()
        token = refresh_row(current.id)
        tokens.get_for_rotation.return_value = (token, current)

        pair = await service.refresh("presented")

        tokens.get_for_rotation.assert_awaited_once_with(hash_refresh_token("presented"))
        tokens.mark_used.assert_awaited_once()
        assert tokens.mark_used.await_args.args[0] is token
        family_id, stored_hash, expires_at = tokens.add_refresh_token.await_args.args
        assert (family_id, stored_hash, expires_at) == (
            current.id,
            hash_refresh_token(pair.refresh_token),
            current.expires_at,
        )
        assert pair.refresh_token != "presented"
        assert decode_access_token(pair.access_token, settings=SETTINGS).session_id == current.id
        tokens.revoke_family.assert_not_awaited()

    async def test_reuse_revokes_the_family_and_commits_that_before_refusing(
        self, service: AuthService, tokens: AsyncMock, unit_of_work: AsyncMock
    ) -> None:
        current = family()
        tokens.get_for_rotation.return_value = (refresh_row(current.id, used_at=now() - timedelta(minutes=1)), current)

        with pytest.raises(RefreshTokenReusedError) as raised:
            await service.refresh("presented")

        assert unit_of_work.committed_revocations == [[current.id]]
        assert isinstance(raised.value, InvalidTokenError)
        tokens.revoke_family.assert_awaited_once()
        assert tokens.revoke_family.await_args.args[0] == current.id
        tokens.mark_used.assert_not_awaited()
        tokens.add_refresh_token.assert_not_awaited()

    async def test_refresh_of_a_deactivated_account_revokes_and_commits_before_refusing(
        self, service: AuthService, users: AsyncMock, tokens: AsyncMock, unit_of_work: AsyncMock
    ) -> None:
        current = family()
        tokens.get_for_rotation.return_value = (refresh_row(current.id), current)
        users.get_by_id.return_value = User(id=current.user_id, email=EMAIL, username="alice", is_active=False)

        with pytest.raises(AccountDisabledTokenError):
            await service.refresh("presented")

        users.get_by_id.assert_awaited_once_with(current.user_id)
        assert unit_of_work.committed_revocations == [[current.id]]
        tokens.mark_used.assert_not_awaited()
        tokens.add_refresh_token.assert_not_awaited()

    async def test_refresh_of_a_deleted_account_revokes_and_commits_before_refusing(
        self, service: AuthService, users: AsyncMock, tokens: AsyncMock, unit_of_work: AsyncMock
    ) -> None:
        current = family()
        tokens.get_for_rotation.return_value = (refresh_row(current.id), current)
        users.get_by_id.return_value = None

        with pytest.raises(AccountDisabledTokenError):
            await service.refresh("presented")

        assert unit_of_work.committed_revocations == [[current.id]]

    async def test_unknown_token_is_refused_and_nothing_is_committed(
        self, service: AuthService, tokens: AsyncMock, unit_of_work: AsyncMock
    ) -> None:
        tokens.get_for_rotation.return_value = None

        with pytest.raises(InvalidTokenError):
            await service.refresh("unknown")

        unit_of_work.commit.assert_not_awaited()
        tokens.revoke_family.assert_not_awaited()
        tokens.add_refresh_token.assert_not_awaited()

    @pytest.mark.parametrize(
        ("family_overrides", "token_overrides"),
        [
            ({"revoked_at": datetime(2020, 1, 1, tzinfo=UTC)}, {}),
            ({"expires_at": datetime(2020, 1, 1, tzinfo=UTC)}, {}),
            ({}, {"expires_at": datetime(2020, 1, 1, tzinfo=UTC)}),
            ({"revoked_at": datetime(2020, 1, 1, tzinfo=UTC)}, {"used_at": datetime(2020, 1, 1, tzinfo=UTC)}),
        ],
        ids=["revoked-family", "expired-family", "expired-token", "used-token-of-revoked-family"],
    )
    async def test_dead_token_is_refused_without_rotation(
        self,
        service: AuthService,
        tokens: AsyncMock,
        family_overrides: dict[str, object],
        token_overrides: dict[str, object],
    ) -> None:
        current = family(**family_overrides)
        tokens.get_for_rotation.return_value = (refresh_row(current.id, **token_overrides), current)

        with pytest.raises(InvalidTokenError) as raised:
            await service.refresh("presented")

        assert not isinstance(raised.value, RefreshTokenReusedError)
        tokens.mark_used.assert_not_awaited()
        tokens.add_refresh_token.assert_not_awaited()


@pytest.mark.unit
class TestLogoutAndTokenChecks:
    async def test_logout_revokes_the_access_token_and_its_family(
        self, service: AuthService, tokens: AsyncMock
    ) -> None:
        claims = AccessTokenClaims(user_id=7, jti=uuid.uuid4(), expires_at=now(), session_id=uuid.uuid4())

        await service.logout(claims)

        tokens.revoke_access_token.assert_awaited_once_with(claims.jti, claims.expires_at)
        tokens.revoke_family.assert_awaited_once()
        assert tokens.revoke_family.await_args.args[0] == claims.session_id

    async def test_logout_of_a_token_without_session_revokes_only_the_token(
        self, service: AuthService, tokens: AsyncMock
    ) -> None:
        claims = AccessTokenClaims(user_id=7, jti=uuid.uuid4(), expires_at=now(), session_id=None)

        await service.logout(claims)

        tokens.revoke_access_token.assert_awaited_once_with(claims.jti, claims.expires_at)
        tokens.revoke_family.assert_not_awaited()

    async def test_logout_revokes_a_named_family_of_the_same_user(
        self, service: AuthService, tokens: AsyncMock
    ) -> None:
        claims = AccessTokenClaims(user_id=7, jti=uuid.uuid4(), expires_at=now(), session_id=None)
        mine = family(user_id=7)
        tokens.get_for_rotation.return_value = (refresh_row(mine.id), mine)

        await service.logout(claims, "presented")

        tokens.get_for_rotation.assert_awaited_once_with(hash_refresh_token("presented"))
        tokens.revoke_family.assert_awaited_once()
        assert tokens.revoke_family.await_args.args[0] == mine.id

    async def test_logout_never_revokes_a_family_of_another_user(self, service: AuthService, tokens: AsyncMock) -> None:
        claims = AccessTokenClaims(user_id=7, jti=uuid.uuid4(), expires_at=now(), session_id=None)
        theirs = family(user_id=8)
        tokens.get_for_rotation.return_value = (refresh_row(theirs.id), theirs)

        await service.logout(claims, "presented")

        tokens.revoke_family.assert_not_awaited()
