"""Profile rules (``ProfileService``) on in-memory fakes and the real in-process throttle;
password checks patched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest

from app.exceptions import (
    CurrentPasswordInvalidError,
    PermissionDeniedError,
    TooManyAttemptsError,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from app.models.account_token import TokenPurpose
from app.models.user import User
from app.schemas.user import UserUpdate
from app.services.account_tokens import EmailVerification
from app.services.profile_service import ProfileService
from app.services.user_service import UserService
from app.utils.throttle import InMemoryFailureCounter, LoginThrottle, ThrottleRule
from app.utils.tokens import token_digest
from tests.factories import UserFactory
from tests.unit.fakes import FakeAccountTokenRepository, FakeNotifier, FakeTokenRepository, FakeUserRepository

VERIFY = "app.services.passwords.verify_password"
ACCOUNT_LIMIT = 3
WINDOW_SECONDS = 60


@pytest.fixture
def repository() -> FakeUserRepository:
    return FakeUserRepository()


@pytest.fixture
def tokens(repository: FakeUserRepository) -> FakeTokenRepository:
    return FakeTokenRepository(repository)


@pytest.fixture
def throttle() -> LoginThrottle:
    return LoginThrottle(
        InMemoryFailureCounter(),
        account_rule=ThrottleRule("account", ACCOUNT_LIMIT, WINDOW_SECONDS),
        client_rule=ThrottleRule("client", 100, WINDOW_SECONDS),
    )


@pytest.fixture
def account_tokens() -> FakeAccountTokenRepository:
    return FakeAccountTokenRepository()


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def service(
    repository: FakeUserRepository,
    tokens: FakeTokenRepository,
    throttle: LoginThrottle,
    account_tokens: FakeAccountTokenRepository,
    notifier: FakeNotifier,
) -> ProfileService:
    verification = EmailVerification(account_tokens, notifier, timedelta(hours=24))
    return ProfileService(repository, tokens, throttle, verification, notifier)


@pytest.fixture
def user_service(repository: FakeUserRepository) -> UserService:
    return UserService(repository)


@pytest.fixture
async def owner(repository: FakeUserRepository) -> User:
    return await repository.create(
        UserFactory.build(email="owner@example.com", username="owner", hashed_password="stored-hash")
    )


@pytest.fixture
async def other(repository: FakeUserRepository) -> User:
    return await repository.create(UserFactory.build(email="other@example.com", username="other"))


@pytest.mark.unit
class TestUpdateOwnProfile:
    async def test_another_user_is_refused_and_nothing_changes(
        self, service: ProfileService, owner: User, other: User
    ) -> None:
        with patch(VERIFY, autospec=True, return_value=True) as verify, pytest.raises(PermissionDeniedError):
            await service.update_own_profile(owner, other.id, UserUpdate(username="renamed"), None)

        assert other.username == "other"
        verify.assert_not_called()

    async def test_an_unknown_id_is_refused_the_same_way(self, service: ProfileService, owner: User) -> None:
        with pytest.raises(PermissionDeniedError) as caught:
            await service.update_own_profile(owner, owner.id + 1000, UserUpdate(username="renamed"), None)

        assert type(caught.value) is PermissionDeniedError

    async def test_owner_renames_without_a_password_check(self, service: ProfileService, owner: User) -> None:
        with patch(VERIFY, autospec=True) as verify:
            updated = await service.update_own_profile(owner, owner.id, UserUpdate(username="renamed"), None)

        assert updated.username == "renamed"
        assert updated.email == "owner@example.com"
        verify.assert_not_called()

    async def test_email_change_with_a_wrong_password_is_refused(self, service: ProfileService, owner: User) -> None:
        data = UserUpdate(email="new@example.com", current_password="wrong-password")

        with patch(VERIFY, autospec=True, return_value=False) as verify, pytest.raises(CurrentPasswordInvalidError):
            await service.update_own_profile(owner, owner.id, data, None)

        verify.assert_called_once_with("wrong-password", "stored-hash")
        assert owner.email == "owner@example.com"

    async def test_email_change_with_the_right_password(
        self, service: ProfileService, repository: FakeUserRepository, owner: User
    ) -> None:
        data = UserUpdate(email="new@example.com", current_password="right-password")

        with patch(VERIFY, autospec=True, return_value=True) as verify:
            updated = await service.update_own_profile(owner, owner.id, data, None)

        verify.assert_called_once_with("right-password", "stored-hash")
        assert updated.email == "new@example.com"
        assert await repository.get_by_email("NEW@example.com") is owner

    async def test_a_refused_password_leaves_the_username_too(self, service: ProfileService, owner: User) -> None:
        data = UserUpdate(username="renamed", email="new@example.com", current_password="wrong")

        with patch(VERIFY, autospec=True, return_value=False), pytest.raises(CurrentPasswordInvalidError):
            await service.update_own_profile(owner, owner.id, data, None)

        assert owner.username == "owner"

    async def test_taking_someone_elses_username_conflicts(
        self, service: ProfileService, owner: User, other: User
    ) -> None:
        with pytest.raises(UserAlreadyExistsError):
            await service.update_own_profile(owner, owner.id, UserUpdate(username="OTHER"), None)

    async def test_taking_someone_elses_email_conflicts(
        self, service: ProfileService, owner: User, other: User
    ) -> None:
        data = UserUpdate(email="Other@Example.com", current_password="right-password")

        with patch(VERIFY, autospec=True, return_value=True), pytest.raises(UserAlreadyExistsError):
            await service.update_own_profile(owner, owner.id, data, None)


@pytest.mark.unit
class TestCurrentPasswordGuesses:
    """A stolen access token must not become an unthrottled password oracle (then an account
    takeover by email): wrong current passwords count with the account's failed logins."""

    async def test_wrong_guesses_past_the_account_limit_are_refused_unchecked(
        self, service: ProfileService, owner: User
    ) -> None:
        data = UserUpdate(email="new@example.com", current_password="guess")
        with patch(VERIFY, autospec=True, return_value=False) as verify:
            for _ in range(ACCOUNT_LIMIT):
                with pytest.raises(CurrentPasswordInvalidError):
                    await service.update_own_profile(owner, owner.id, data, None)

            with pytest.raises(TooManyAttemptsError) as throttled:
                await service.update_own_profile(owner, owner.id, data, None)

        assert verify.call_count == ACCOUNT_LIMIT  # the refused guess was never checked
        assert 0 < throttled.value.retry_after_seconds <= WINDOW_SECONDS
        assert owner.email == "owner@example.com"

    async def test_guesses_share_the_counter_of_the_accounts_logins(
        self, service: ProfileService, throttle: LoginThrottle, owner: User
    ) -> None:
        for _ in range(ACCOUNT_LIMIT):
            assert await throttle.begin_attempt("OWNER@example.com", "203.0.113.9") is None

        with patch(VERIFY, autospec=True, return_value=True) as verify, pytest.raises(TooManyAttemptsError):
            await service.update_own_profile(
                owner, owner.id, UserUpdate(email="new@example.com", current_password="right"), None
            )

        verify.assert_not_called()

    async def test_the_right_password_clears_the_count(
        self, service: ProfileService, throttle: LoginThrottle, owner: User
    ) -> None:
        with patch(VERIFY, autospec=True, return_value=False), pytest.raises(CurrentPasswordInvalidError):
            await service.update_own_profile(
                owner, owner.id, UserUpdate(email="new@example.com", current_password="wrong"), None
            )
        with patch(VERIFY, autospec=True, return_value=True):
            await service.update_own_profile(
                owner, owner.id, UserUpdate(email="new@example.com", current_password="right"), None
            )

        for _ in range(ACCOUNT_LIMIT):  # a full allowance again
            assert await throttle.begin_account_attempt("new@example.com") is None

    async def test_a_rename_costs_no_attempt(
        self, service: ProfileService, throttle: LoginThrottle, owner: User
    ) -> None:
        for index in range(ACCOUNT_LIMIT + 2):
            await service.update_own_profile(owner, owner.id, UserUpdate(username=f"renamed{index}"), None)

        assert await throttle.begin_account_attempt(owner.email) is None


@pytest.mark.unit
class TestSessionsOnEmailChange:
    async def test_a_new_email_ends_every_other_session_but_the_callers(
        self, service: ProfileService, tokens: FakeTokenRepository, owner: User, other: User
    ) -> None:
        expires = datetime.now(UTC) + timedelta(hours=1)
        current = await tokens.create_family(owner.id, expires)
        stolen = await tokens.create_family(owner.id, expires)
        others_session = await tokens.create_family(other.id, expires)
        data = UserUpdate(email="new@example.com", current_password="right")

        with patch(VERIFY, autospec=True, return_value=True):
            await service.update_own_profile(owner, owner.id, data, current.id)

        assert tokens.live_families(owner.id) == {current.id}
        assert stolen.revoked_at is not None
        assert tokens.live_families(other.id) == {others_session.id}

    async def test_the_same_email_in_another_letter_case_ends_no_session(
        self, service: ProfileService, tokens: FakeTokenRepository, owner: User
    ) -> None:
        expires = datetime.now(UTC) + timedelta(hours=1)
        families = {(await tokens.create_family(owner.id, expires)).id for _ in range(2)}

        with patch(VERIFY, autospec=True, return_value=True):
            await service.update_own_profile(
                owner, owner.id, UserUpdate(email="OWNER@example.com", current_password="right"), None
            )

        assert tokens.live_families(owner.id) == families

    async def test_a_rename_ends_no_session(
        self, service: ProfileService, tokens: FakeTokenRepository, owner: User
    ) -> None:
        family = await tokens.create_family(owner.id, datetime.now(UTC) + timedelta(hours=1))

        await service.update_own_profile(owner, owner.id, UserUpdate(username="renamed"), None)

        assert tokens.live_families(owner.id) == {family.id}


@pytest.mark.unit
class TestVerificationAndNoticeOnEmailChange:
    async def test_a_new_email_gets_a_verification_link_bound_to_it(
        self, service: ProfileService, owner: User, account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier
    ) -> None:
        with patch(VERIFY, autospec=True, return_value=True):
            await service.update_own_profile(
                owner, owner.id, UserUpdate(email="new@example.com", current_password="right"), None
            )

        [token] = notifier.tokens("verification", "new@example.com")
        live = account_tokens.live(owner.id, TokenPurpose.VERIFY_EMAIL)
        assert live is not None
        assert live.email == "new@example.com"
        assert live.token_hash == token_digest(token)
        assert notifier.sent == [
            ("verification", "new@example.com", token),
            ("email_changed", "owner@example.com", None),  # the previous address, told without a link
        ]

    async def test_the_link_sent_to_the_previous_address_stops_working(
        self, service: ProfileService, owner: User, account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier
    ) -> None:
        await EmailVerification(account_tokens, notifier, timedelta(hours=1)).send(owner)
        [old_token] = notifier.tokens("verification", "owner@example.com")

        with patch(VERIFY, autospec=True, return_value=True):
            await service.update_own_profile(
                owner, owner.id, UserUpdate(email="new@example.com", current_password="right"), None
            )

        assert await account_tokens.get_for_use(token_digest(old_token), TokenPurpose.VERIFY_EMAIL) is None

    @pytest.mark.parametrize(
        "changes", [UserUpdate(username="renamed"), UserUpdate(email="OWNER@example.com", current_password="right")]
    )
    async def test_no_link_without_a_new_address(
        self, service: ProfileService, owner: User, notifier: FakeNotifier, changes: UserUpdate
    ) -> None:
        with patch(VERIFY, autospec=True, return_value=True):
            await service.update_own_profile(owner, owner.id, changes, None)

        assert notifier.sent == []

    async def test_a_refused_change_sends_nothing(
        self, service: ProfileService, owner: User, notifier: FakeNotifier
    ) -> None:
        with patch(VERIFY, autospec=True, return_value=False), pytest.raises(CurrentPasswordInvalidError):
            await service.update_own_profile(
                owner, owner.id, UserUpdate(email="new@example.com", current_password="wrong"), None
            )

        assert notifier.sent == []


@pytest.mark.unit
class TestUpdateUser:
    async def test_unknown_user_is_not_found(self, user_service: UserService) -> None:
        with pytest.raises(UserNotFoundError):
            await user_service.update_user(42, UserUpdate(username="whoever"))

    async def test_not_found_is_also_a_value_error_as_in_the_seed(self, user_service: UserService) -> None:
        with pytest.raises(ValueError, match="not found"):
            await user_service.update_user(42, UserUpdate(username="whoever"))
