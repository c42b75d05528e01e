"""``AccountService`` rules on in-memory fakes: registration sends a verification link, the link
verifies the address once, within its lifetime, for the address it was sent to; a password change
checks the current password like a login, applies the policy, and ends every other session."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest.mock import MagicMock, patch

import pytest

from app.exceptions import (
    AlreadyVerifiedError,
    AuthenticationError,
    CurrentPasswordInvalidError,
    TooManyAttemptsError,
    UserAlreadyExistsError,
    VerificationTokenInvalidError,
    WeakPasswordError,
)
from app.models.account_token import TokenPurpose
from app.models.user import User
from app.schemas.user import UserCreate
from app.services.account_service import AccountService
from app.services.account_tokens import AccountTokens, EmailVerification
from app.services.limits import Limit
from app.utils.throttle import InMemoryFailureCounter, LoginThrottle, RateLimits
from app.utils.tokens import token_digest
from tests.factories import UserFactory
from tests.unit.fakes import (
    ACCOUNT_GUESSES,
    FakeAccountTokenRepository,
    FakeNotifier,
    FakeTokenRepository,
    FakeUserRepository,
)

VERIFICATION_LIMIT = 2
REGISTRATION_LIMIT = 2
LIFETIME = timedelta(hours=24)


@pytest.fixture
def limits() -> RateLimits:
    return RateLimits(
        InMemoryFailureCounter(),
        {
            Limit.VERIFICATION_PER_ACCOUNT: (VERIFICATION_LIMIT, 60),
            Limit.REGISTRATION_PER_CLIENT: (REGISTRATION_LIMIT, 60),
        },
    )


@pytest.fixture
def service(
    *,
    users: FakeUserRepository,
    account_tokens: FakeAccountTokenRepository,
    notifier: FakeNotifier,
    limits: RateLimits,
    sessions: FakeTokenRepository,
    login_throttle: LoginThrottle,
) -> AccountService:
    return AccountService(
        users,
        account_tokens,
        EmailVerification(account_tokens, notifier, LIFETIME),
        limits=limits,
        sessions=sessions,
        password_attempts=login_throttle,
        notifier=notifier,
    )


@pytest.fixture
async def alice(users: FakeUserRepository) -> User:
    return await users.create(UserFactory.build(email="alice@example.com", username="alice"))


async def verification_token(account_tokens: FakeAccountTokenRepository, user: User, **changes: object) -> str:
    """A live verification token of ``user``; ``changes`` alter its stored row."""
    token = await AccountTokens(account_tokens).issue(user, TokenPurpose.VERIFY_EMAIL, LIFETIME)
    stored = account_tokens.live(user.id, TokenPurpose.VERIFY_EMAIL)
    assert stored is not None
    for name, value in changes.items():
        setattr(stored, name, value)
    return token


@pytest.mark.unit
class TestRegister:
    async def test_creates_an_unverified_account_and_emails_it_a_link(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier
    ) -> None:
        data = UserCreate(email="new@example.com", username="newcomer", password="SecurePass123!")

        with patch("app.services.user_service.hash_password", autospec=True, return_value="hashed"):
            user = await service.register(data, "203.0.113.5")

        assert user.is_verified is False
        [token] = notifier.tokens("verification", "new@example.com")
        stored = account_tokens.live(user.id, TokenPurpose.VERIFY_EMAIL)
        assert stored is not None
        assert stored.email == "new@example.com"
        assert stored.token_hash == token_digest(token)
        assert token not in {stored.token_hash, stored.email}  # only the digest is kept

    async def test_an_existing_email_sends_nothing(
        self, service: AccountService, alice: User, notifier: FakeNotifier
    ) -> None:
        data = UserCreate(email="ALICE@example.com", username="another", password="SecurePass123!")

        with pytest.raises(UserAlreadyExistsError):
            await service.register(data, "203.0.113.5")

        assert notifier.sent == []


@pytest.mark.unit
class TestRegistrationLimit:
    async def test_past_the_limit_a_client_registers_nothing(
        self, service: AccountService, users: FakeUserRepository, notifier: FakeNotifier
    ) -> None:
        accounts = [
            UserCreate(email=f"user{index}@example.com", username=f"user{index}", password="SecurePass123!")
            for index in range(REGISTRATION_LIMIT + 1)
        ]
        with patch("app.services.user_service.hash_password", autospec=True, return_value="hashed"):
            for account in accounts[:REGISTRATION_LIMIT]:
                await service.register(account, "203.0.113.5")

            with pytest.raises(TooManyAttemptsError):
                await service.register(accounts[-1], "203.0.113.5")
            await service.register(accounts[-1], "198.51.100.1")  # another client is not limited

        assert len(users.users) == REGISTRATION_LIMIT + 1
        assert len(notifier.sent) == REGISTRATION_LIMIT + 1


@pytest.mark.unit
class TestTokens:
    async def test_a_token_carries_256_random_bits(
        self, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        tokens = {
            await AccountTokens(account_tokens).issue(alice, TokenPurpose.VERIFY_EMAIL, LIFETIME) for _ in range(20)
        }

        assert len(tokens) == 20
        assert {len(base64.urlsafe_b64decode(token + "=")) for token in tokens} == {32}

    async def test_it_expires_after_its_lifetime(self, account_tokens: FakeAccountTokenRepository, alice: User) -> None:
        before = datetime.now(UTC)

        await AccountTokens(account_tokens).issue(alice, TokenPurpose.VERIFY_EMAIL, LIFETIME)

        stored = account_tokens.live(alice.id, TokenPurpose.VERIFY_EMAIL)
        assert stored is not None
        assert before + LIFETIME <= stored.expires_at <= datetime.now(UTC) + LIFETIME


@pytest.mark.unit
class TestVerifyEmail:
    async def test_a_live_token_verifies_the_account(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await verification_token(account_tokens, alice)

        await service.verify_email(token)

        assert alice.is_verified is True
        assert account_tokens.live(alice.id, TokenPurpose.VERIFY_EMAIL) is None

    async def test_a_token_works_once(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await verification_token(account_tokens, alice)
        await service.verify_email(token)

        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email(token)

    async def test_an_expired_token_is_refused(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await verification_token(account_tokens, alice, expires_at=datetime.now(UTC) - timedelta(seconds=1))

        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email(token)

        assert alice.is_verified is False

    async def test_a_token_about_to_expire_still_works(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await verification_token(account_tokens, alice, expires_at=datetime.now(UTC) + timedelta(seconds=5))

        await service.verify_email(token)

        assert alice.is_verified is True

    async def test_an_unknown_token_is_refused(self, service: AccountService, alice: User) -> None:
        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email("unknown-token")

    async def test_a_token_for_another_purpose_is_refused(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await AccountTokens(account_tokens).issue(alice, TokenPurpose.RESET_PASSWORD, LIFETIME)

        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email(token)

        assert alice.is_verified is False

    async def test_a_token_sent_to_a_previous_address_is_refused(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await verification_token(account_tokens, alice)
        alice.email = "alice.elsewhere@example.com"

        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email(token)

        assert alice.is_verified is False

    async def test_the_address_matches_in_any_letter_case(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await verification_token(account_tokens, alice, email="ALICE@EXAMPLE.COM")

        await service.verify_email(token)

        assert alice.is_verified is True

    async def test_a_deactivated_account_is_not_verified(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await verification_token(account_tokens, alice)
        alice.is_active = False

        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email(token)

        assert alice.is_verified is False

    async def test_a_deleted_account_is_not_found(
        self,
        service: AccountService,
        users: FakeUserRepository,
        account_tokens: FakeAccountTokenRepository,
        alice: User,
    ) -> None:
        token = await verification_token(account_tokens, alice)
        del users.users[alice.id]

        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email(token)


@pytest.mark.unit
class TestRequestVerification:
    async def test_sends_a_new_link_and_the_previous_one_stops_working(
        self, service: AccountService, account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier, alice: User
    ) -> None:
        previous = await verification_token(account_tokens, alice)

        await service.request_verification(alice)

        [token] = notifier.tokens("verification", alice.email)
        assert token != previous
        with pytest.raises(VerificationTokenInvalidError):
            await service.verify_email(previous)
        await service.verify_email(token)
        assert alice.is_verified is True

    async def test_a_verified_account_is_told_so_and_sent_nothing(
        self, service: AccountService, notifier: FakeNotifier, alice: User
    ) -> None:
        alice.is_verified = True

        with pytest.raises(AlreadyVerifiedError):
            await service.request_verification(alice)

        assert notifier.sent == []

    async def test_past_the_limit_nothing_is_sent(
        self, service: AccountService, notifier: FakeNotifier, alice: User
    ) -> None:
        for _ in range(VERIFICATION_LIMIT):
            await service.request_verification(alice)

        with pytest.raises(TooManyAttemptsError) as refused:
            await service.request_verification(alice)

        assert 0 < refused.value.retry_after_seconds <= 60
        assert len(notifier.sent) == VERIFICATION_LIMIT

    async def test_the_limit_is_per_account(
        self, service: AccountService, users: FakeUserRepository, notifier: FakeNotifier, alice: User
    ) -> None:
        bob = await users.create(UserFactory.build(email="bob@example.com"))
        for _ in range(VERIFICATION_LIMIT):
            await service.request_verification(alice)

        await service.request_verification(bob)

        assert notifier.tokens("verification", "bob@example.com")


NEW = "Brand-new-passphrase-42"


@pytest.fixture
def current_password_ok() -> Iterator[MagicMock]:
    with (
        patch("app.services.passwords.verify_password", autospec=True, return_value=True) as verify,
        patch("app.services.passwords.hash_password", autospec=True, side_effect=lambda password: f"hash:{password}"),
    ):
        yield verify


@pytest.fixture
def current_password_wrong() -> Iterator[MagicMock]:
    with patch("app.services.passwords.verify_password", autospec=True, return_value=False) as verify:
        yield verify


async def two_sessions(sessions: FakeTokenRepository, user: User) -> tuple[uuid.UUID, uuid.UUID]:
    expires = datetime.now(UTC) + timedelta(hours=1)
    return (await sessions.create_family(user.id, expires)).id, (await sessions.create_family(user.id, expires)).id


@pytest.mark.unit
class TestChangePassword:
    async def test_sets_the_password_and_ends_every_other_session(
        self, service: AccountService, sessions: FakeTokenRepository, alice: User, current_password_ok: MagicMock
    ) -> None:
        callers, other = await two_sessions(sessions, alice)

        await service.change_password(alice, "the current one", NEW, callers)

        current_password_ok.assert_called_once_with("the current one", "hashed_password")
        assert alice.hashed_password == f"hash:{NEW}"
        assert sessions.live_families(alice.id) == {callers}
        assert sessions.families[other].revoked_at is not None

    async def test_without_a_session_of_its_own_the_caller_ends_them_all(
        self, service: AccountService, sessions: FakeTokenRepository, alice: User, current_password_ok: MagicMock
    ) -> None:
        await two_sessions(sessions, alice)

        await service.change_password(alice, "the current one", NEW, None)

        assert sessions.live_families(alice.id) == set()

    async def test_a_wrong_current_password_changes_nothing(
        self, service: AccountService, sessions: FakeTokenRepository, alice: User, current_password_wrong: MagicMock
    ) -> None:
        callers, other = await two_sessions(sessions, alice)

        with pytest.raises(CurrentPasswordInvalidError):
            await service.change_password(alice, "a guess", NEW, callers)

        assert alice.hashed_password == "hashed_password"
        assert sessions.live_families(alice.id) == {callers, other}

    async def test_wrong_current_passwords_count_like_failed_logins(
        self, service: AccountService, login_throttle: LoginThrottle, alice: User, current_password_wrong: MagicMock
    ) -> None:
        for _ in range(ACCOUNT_GUESSES):
            with pytest.raises(CurrentPasswordInvalidError):
                await service.change_password(alice, "a guess", NEW, None)

        with pytest.raises(TooManyAttemptsError):
            await service.change_password(alice, "another guess", NEW, None)

        assert current_password_wrong.call_count == ACCOUNT_GUESSES  # the refused guess is not even checked
        assert await login_throttle.begin_attempt(alice.email, "203.0.113.1") is not None  # logins are locked too

    @pytest.mark.parametrize("new", ["alice@example.com", "Alice"], ids=["the-email", "the-username"])
    async def test_the_accounts_own_name_is_refused(
        self, service: AccountService, alice: User, current_password_ok: MagicMock, new: str
    ) -> None:
        with pytest.raises(WeakPasswordError):
            await service.change_password(alice, "the current one", new, None)

        assert alice.hashed_password == "hashed_password"

    async def test_an_outstanding_reset_link_stops_working(
        self,
        service: AccountService,
        account_tokens: FakeAccountTokenRepository,
        alice: User,
        current_password_ok: MagicMock,
    ) -> None:
        await AccountTokens(account_tokens).issue(alice, TokenPurpose.RESET_PASSWORD, timedelta(minutes=30))

        await service.change_password(alice, "the current one", NEW, None)

        assert account_tokens.live(alice.id, TokenPurpose.RESET_PASSWORD) is None

    async def test_the_owner_is_told(
        self, service: AccountService, notifier: FakeNotifier, alice: User, current_password_ok: MagicMock
    ) -> None:
        await service.change_password(alice, "the current one", NEW, None)

        assert notifier.sent == [("password_changed", "alice@example.com", None)]

    async def test_an_account_deleted_meanwhile_is_no_longer_signed_in(
        self, service: AccountService, users: FakeUserRepository, alice: User, current_password_ok: MagicMock
    ) -> None:
        del users.users[alice.id]

        with pytest.raises(AuthenticationError):
            await service.change_password(alice, "the current one", NEW, None)

    async def test_an_account_deactivated_meanwhile_is_no_longer_signed_in(
        self, service: AccountService, alice: User, current_password_ok: MagicMock
    ) -> None:
        alice.is_active = False

        with pytest.raises(AuthenticationError):
            await service.change_password(alice, "the current one", NEW, None)


@pytest.mark.unit
class TestDeleteAccount:
    async def test_the_right_password_deletes_the_account(
        self, service: AccountService, users: FakeUserRepository, alice: User, current_password_ok: MagicMock
    ) -> None:
        await service.delete_account(alice, "the current one")

        current_password_ok.assert_called_once_with("the current one", "hashed_password")
        assert alice.id not in users.users

    async def test_a_wrong_password_deletes_nothing(
        self, service: AccountService, users: FakeUserRepository, alice: User, current_password_wrong: MagicMock
    ) -> None:
        with pytest.raises(CurrentPasswordInvalidError):
            await service.delete_account(alice, "a guess")

        assert users.users[alice.id] is alice

    async def test_guesses_count_like_failed_logins(
        self, service: AccountService, users: FakeUserRepository, alice: User, current_password_wrong: MagicMock
    ) -> None:
        for _ in range(ACCOUNT_GUESSES):
            with pytest.raises(CurrentPasswordInvalidError):
                await service.delete_account(alice, "a guess")
        current_password_wrong.return_value = True  # even the right password, now

        with pytest.raises(TooManyAttemptsError):
            await service.delete_account(alice, "the current one")

        assert users.users[alice.id] is alice

    async def test_an_account_already_gone_is_no_longer_signed_in(
        self, service: AccountService, users: FakeUserRepository, alice: User, current_password_ok: MagicMock
    ) -> None:
        del users.users[alice.id]

        with pytest.raises(AuthenticationError):
            await service.delete_account(alice, "the current one")
