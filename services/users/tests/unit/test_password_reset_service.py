"""Password reset rules on in-memory fakes: the request reveals nothing, the link works once,
within 30 minutes, for the address it was sent to, and the reset ends every session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest

from app.exceptions import ResetTokenInvalidError, TooManyAttemptsError, WeakPasswordError
from app.models.account_token import TokenPurpose
from app.models.user import User
from app.services.account_tokens import AccountTokens
from app.services.limits import Limit
from app.services.password_reset_service import PasswordResetService, ResetLinkSender
from app.utils.password import verify_password
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

LIFETIME = timedelta(minutes=30)
LIMIT = ACCOUNT_GUESSES  # the rate limits here, like the login throttle, allow this many
CLIENT = "203.0.113.9"
NEW_PASSWORD = "Brand-new-passphrase-42"


@pytest.fixture
def limits() -> RateLimits:
    return RateLimits(InMemoryFailureCounter(), dict.fromkeys(Limit, (LIMIT, 60)))


@pytest.fixture
def scheduled() -> list[str]:
    """The addresses whose reset link would be sent after the response."""
    return []


@pytest.fixture
def service(
    *,
    users: FakeUserRepository,
    account_tokens: FakeAccountTokenRepository,
    sessions: FakeTokenRepository,
    notifier: FakeNotifier,
    limits: RateLimits,
    login_throttle: LoginThrottle,
    scheduled: list[str],
) -> PasswordResetService:
    return PasswordResetService(
        users,
        account_tokens,
        sessions,
        notifier,
        limits=limits,
        password_attempts=login_throttle,
        send_later=scheduled.append,
    )


@pytest.fixture
def sender(
    users: FakeUserRepository, account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier
) -> ResetLinkSender:
    return ResetLinkSender(users, account_tokens, notifier, LIFETIME)


@pytest.fixture
async def alice(users: FakeUserRepository) -> User:
    return await users.create(
        UserFactory.build(email="alice@example.com", username="alice", hashed_password="old-hash")
    )


async def reset_token(account_tokens: FakeAccountTokenRepository, user: User, **changes: object) -> str:
    token = await AccountTokens(account_tokens).issue(user, TokenPurpose.RESET_PASSWORD, LIFETIME)
    stored = account_tokens.live(user.id, TokenPurpose.RESET_PASSWORD)
    assert stored is not None
    for name, value in changes.items():
        setattr(stored, name, value)
    return token


@pytest.fixture
def cheap_hash() -> object:
    with patch("app.services.passwords.hash_password", autospec=True, side_effect=lambda password: f"hash:{password}"):
        yield


@pytest.mark.unit
class TestRequestReset:
    async def test_an_existing_and_an_unknown_address_do_the_same_work(
        self, service: PasswordResetService, alice: User, scheduled: list[str], notifier: FakeNotifier
    ) -> None:
        await service.request_reset("alice@example.com", CLIENT)
        await service.request_reset("nobody@example.com", CLIENT)

        assert scheduled == ["alice@example.com", "nobody@example.com"]  # no lookup before the answer
        assert notifier.sent == []

    async def test_past_the_per_address_limit_it_is_refused(
        self, service: PasswordResetService, scheduled: list[str]
    ) -> None:
        for index in range(LIMIT):
            await service.request_reset(f"  Alice@Example.com{' ' * index}", f"198.51.100.{index}")

        with pytest.raises(TooManyAttemptsError):
            await service.request_reset("alice@example.com", "198.51.100.99")

        assert len(scheduled) == LIMIT

    async def test_past_the_per_client_limit_it_is_refused(
        self, service: PasswordResetService, scheduled: list[str]
    ) -> None:
        for index in range(LIMIT):
            await service.request_reset(f"user{index}@example.com", CLIENT)

        with pytest.raises(TooManyAttemptsError):
            await service.request_reset("another@example.com", CLIENT)

        assert len(scheduled) == LIMIT


@pytest.mark.unit
class TestSendResetLink:
    async def test_an_active_account_gets_a_link_stored_as_a_digest(
        self, sender: ResetLinkSender, account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier, alice: User
    ) -> None:
        before = datetime.now(UTC)

        await sender.send_reset_link("ALICE@example.com")

        [token] = notifier.tokens("password_reset", "alice@example.com")
        stored = account_tokens.live(alice.id, TokenPurpose.RESET_PASSWORD)
        assert stored is not None
        assert stored.token_hash == token_digest(token)
        assert before + LIFETIME <= stored.expires_at <= datetime.now(UTC) + LIFETIME

    async def test_an_unknown_address_gets_nothing(self, sender: ResetLinkSender, notifier: FakeNotifier) -> None:
        await sender.send_reset_link("nobody@example.com")

        assert notifier.sent == []

    async def test_a_deactivated_account_gets_nothing(
        self, sender: ResetLinkSender, notifier: FakeNotifier, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        alice.is_active = False

        await sender.send_reset_link(alice.email)

        assert notifier.sent == []
        assert account_tokens.tokens == {}

    async def test_asking_again_ends_the_previous_link(
        self,
        sender: ResetLinkSender,
        service: PasswordResetService,
        notifier: FakeNotifier,
        alice: User,
        cheap_hash: object,
    ) -> None:
        await sender.send_reset_link(alice.email)
        await sender.send_reset_link(alice.email)
        first, second = notifier.tokens("password_reset", alice.email)

        with pytest.raises(ResetTokenInvalidError):
            await service.reset_password(first, NEW_PASSWORD, CLIENT)
        await service.reset_password(second, NEW_PASSWORD, CLIENT)


@pytest.mark.unit
class TestResetPassword:
    async def test_sets_the_password_and_ends_every_session(
        self,
        service: PasswordResetService,
        account_tokens: FakeAccountTokenRepository,
        sessions: FakeTokenRepository,
        alice: User,
    ) -> None:
        token = await reset_token(account_tokens, alice)
        expires = datetime.now(UTC) + timedelta(hours=1)
        for _ in range(2):
            await sessions.create_family(alice.id, expires)

        await service.reset_password(token, NEW_PASSWORD, CLIENT)

        assert verify_password(NEW_PASSWORD, alice.hashed_password)
        assert sessions.live_families(alice.id) == set()

    async def test_the_link_works_once(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User, cheap_hash: object
    ) -> None:
        token = await reset_token(account_tokens, alice)
        await service.reset_password(token, NEW_PASSWORD, CLIENT)

        with pytest.raises(ResetTokenInvalidError):
            await service.reset_password(token, "Another-passphrase-43", CLIENT)

        assert alice.hashed_password == f"hash:{NEW_PASSWORD}"

    async def test_an_expired_link_is_refused(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await reset_token(account_tokens, alice, expires_at=datetime.now(UTC) - timedelta(seconds=1))

        with pytest.raises(ResetTokenInvalidError):
            await service.reset_password(token, NEW_PASSWORD, CLIENT)

        assert alice.hashed_password == "old-hash"

    async def test_a_verification_token_cannot_reset(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await AccountTokens(account_tokens).issue(alice, TokenPurpose.VERIFY_EMAIL, LIFETIME)

        with pytest.raises(ResetTokenInvalidError):
            await service.reset_password(token, NEW_PASSWORD, CLIENT)

    async def test_a_link_sent_to_a_previous_address_is_refused(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await reset_token(account_tokens, alice)
        alice.email = "alice.moved@example.com"

        with pytest.raises(ResetTokenInvalidError):
            await service.reset_password(token, NEW_PASSWORD, CLIENT)

    async def test_a_deactivated_account_is_refused(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        token = await reset_token(account_tokens, alice)
        alice.is_active = False

        with pytest.raises(ResetTokenInvalidError):
            await service.reset_password(token, NEW_PASSWORD, CLIENT)

        assert alice.hashed_password == "old-hash"

    async def test_an_unknown_token_is_refused(self, service: PasswordResetService) -> None:
        with pytest.raises(ResetTokenInvalidError):
            await service.reset_password("A" * 43, NEW_PASSWORD, CLIENT)

    @pytest.mark.parametrize("password", ["alice@example.com", "ALICE"], ids=["the-email", "the-username"])
    async def test_the_accounts_own_name_is_refused(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User, password: str
    ) -> None:
        token = await reset_token(account_tokens, alice)

        with pytest.raises(WeakPasswordError):
            await service.reset_password(token, password, CLIENT)

        assert alice.hashed_password == "old-hash"

    async def test_the_address_counts_as_verified_and_the_owner_is_told(
        self,
        service: PasswordResetService,
        account_tokens: FakeAccountTokenRepository,
        notifier: FakeNotifier,
        alice: User,
        cheap_hash: object,
    ) -> None:
        token = await reset_token(account_tokens, alice)

        await service.reset_password(token, NEW_PASSWORD, CLIENT)

        assert alice.is_verified is True
        assert notifier.sent == [("password_changed", "alice@example.com", None)]

    async def test_a_locked_login_is_unlocked(
        self,
        service: PasswordResetService,
        account_tokens: FakeAccountTokenRepository,
        login_throttle: LoginThrottle,
        alice: User,
        cheap_hash: object,
    ) -> None:
        for _ in range(LIMIT + 1):
            await login_throttle.begin_account_attempt(alice.email)
        token = await reset_token(account_tokens, alice)

        await service.reset_password(token, NEW_PASSWORD, CLIENT)

        assert await login_throttle.begin_account_attempt(alice.email) is None

    async def test_attempts_are_limited_per_client(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User
    ) -> None:
        for _ in range(LIMIT):
            with pytest.raises(ResetTokenInvalidError):
                await service.reset_password("A" * 43, NEW_PASSWORD, CLIENT)
        token = await reset_token(account_tokens, alice)

        with pytest.raises(TooManyAttemptsError):
            await service.reset_password(token, NEW_PASSWORD, CLIENT)

        assert alice.hashed_password == "old-hash"

    async def test_attempts_are_limited_per_account(
        self, service: PasswordResetService, account_tokens: FakeAccountTokenRepository, alice: User, cheap_hash: object
    ) -> None:
        for index in range(LIMIT):
            token = await reset_token(account_tokens, alice)
            await service.reset_password(token, f"{NEW_PASSWORD}-{index}", f"198.51.100.{index}")
        token = await reset_token(account_tokens, alice)

        with pytest.raises(TooManyAttemptsError):
            await service.reset_password(token, NEW_PASSWORD, "198.51.100.99")

    async def test_one_accounts_limit_does_not_hold_another_back(
        self,
        service: PasswordResetService,
        account_tokens: FakeAccountTokenRepository,
        users: FakeUserRepository,
        alice: User,
        cheap_hash: object,
    ) -> None:
        bob = await users.create(UserFactory.build(email="bob@example.com", username="bob", hashed_password="old-hash"))
        for index in range(LIMIT):
            token = await reset_token(account_tokens, alice)
            await service.reset_password(token, f"{NEW_PASSWORD}-{index}", f"198.51.100.{index}")

        await service.reset_password(await reset_token(account_tokens, bob), NEW_PASSWORD, "198.51.100.99")

        assert bob.hashed_password != "old-hash"
