"""``AccountService`` rules on in-memory fakes: registration sends a verification link, the link
verifies the address once, within its lifetime, for the address it was sent to."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest

from app.exceptions import (
    AlreadyVerifiedError,
    TooManyAttemptsError,
    UserAlreadyExistsError,
    VerificationTokenInvalidError,
)
from app.models.account_token import TokenPurpose
from app.models.user import User
from app.schemas.user import UserCreate
from app.services.account_service import AccountService
from app.services.account_tokens import AccountTokens, EmailVerification
from app.services.limits import Limit
from app.utils.throttle import InMemoryFailureCounter, RateLimits
from app.utils.tokens import token_digest
from tests.factories import UserFactory
from tests.unit.fakes import FakeAccountTokenRepository, FakeNotifier, FakeUserRepository

VERIFICATION_LIMIT = 2
LIFETIME = timedelta(hours=24)


@pytest.fixture
def users() -> FakeUserRepository:
    return FakeUserRepository()


@pytest.fixture
def account_tokens() -> FakeAccountTokenRepository:
    return FakeAccountTokenRepository()


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def limits() -> RateLimits:
    return RateLimits(InMemoryFailureCounter(), {Limit.VERIFICATION_PER_ACCOUNT: (VERIFICATION_LIMIT, 60)})


@pytest.fixture
def service(
    users: FakeUserRepository, account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier, limits: RateLimits
) -> AccountService:
    return AccountService(users, account_tokens, EmailVerification(account_tokens, notifier, LIFETIME), limits)


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
            user = await service.register(data)

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
            await service.register(data)

        assert notifier.sent == []


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
