"""The seed's unit tests of ``UserService``: repository mocked, hashing patched."""

from __future__ import annotations

import threading
from unittest.mock import AsyncMock, create_autospec, patch

import pytest

from app.exceptions import InvalidCredentialsError, UserAlreadyExistsError
from app.models.user import User
from app.repositories.user_repository import UserRepositoryPort
from app.schemas.user import UserCreate
from app.services.user_service import UserService


@pytest.fixture
def mock_user_repository() -> AsyncMock:
    """The seed's mock repository, specified by the port: a renamed method fails the test."""
    mock: AsyncMock = create_autospec(UserRepositoryPort, instance=True)
    return mock


@pytest.fixture
def user_service(mock_user_repository: AsyncMock) -> UserService:
    return UserService(mock_user_repository)


@pytest.mark.unit
class TestUserService:
    async def test_create_user_success(self, user_service: UserService, mock_user_repository: AsyncMock) -> None:
        # Arrange
        user_data = UserCreate(email="test@example.com", username="testuser", password="SecurePass123!")
        mock_user_repository.get_by_email.return_value = None
        mock_user_repository.create.return_value = User(
            id=1, email=user_data.email, username=user_data.username, hashed_password="hashed_password"
        )

        # Act
        with patch("app.services.user_service.hash_password", autospec=True) as mock_hash:
            mock_hash.return_value = "hashed_password"
            result = await user_service.create_user(user_data)

        # Assert
        assert result.email == user_data.email
        assert result.username == user_data.username
        mock_user_repository.get_by_email.assert_called_once_with(user_data.email)
        mock_user_repository.create.assert_called_once()
        created: User = mock_user_repository.create.call_args.args[0]
        assert created.hashed_password == "hashed_password"
        mock_hash.assert_called_once_with("SecurePass123!")

    async def test_create_user_already_exists(self, user_service: UserService, mock_user_repository: AsyncMock) -> None:
        user_data = UserCreate(email="existing@example.com", username="testuser", password="SecurePass123!")
        mock_user_repository.get_by_email.return_value = User(
            id=1, email=user_data.email, username="existinguser", hashed_password="hashed"
        )

        with pytest.raises(UserAlreadyExistsError):
            await user_service.create_user(user_data)

        mock_user_repository.create.assert_not_called()

    async def test_authenticate_success(self, user_service: UserService, mock_user_repository: AsyncMock) -> None:
        email = "test@example.com"
        password = "SecurePass123!"
        mock_user = User(id=1, email=email, username="testuser", hashed_password="hashed_password")
        mock_user_repository.get_by_email.return_value = mock_user

        with patch("app.services.user_service.verify_password", autospec=True) as mock_verify:
            mock_verify.return_value = True
            result = await user_service.authenticate(email, password)

        assert result == mock_user
        mock_user_repository.get_by_email.assert_called_once_with(email)
        mock_verify.assert_called_once_with(password, "hashed_password")

    async def test_authenticate_invalid_credentials(
        self, user_service: UserService, mock_user_repository: AsyncMock
    ) -> None:
        mock_user_repository.get_by_email.return_value = User(
            id=1, email="test@example.com", username="testuser", hashed_password="hashed_password"
        )

        with patch("app.services.user_service.verify_password", autospec=True) as mock_verify:
            mock_verify.return_value = False
            with pytest.raises(InvalidCredentialsError):
                await user_service.authenticate("test@example.com", "wrong_password")

    async def test_authenticate_unknown_email_spends_a_dummy_verification(
        self, user_service: UserService, mock_user_repository: AsyncMock
    ) -> None:
        mock_user_repository.get_by_email.return_value = None

        with (
            patch("app.services.user_service.dummy_verify", autospec=True) as mock_dummy,
            pytest.raises(InvalidCredentialsError),
        ):
            await user_service.authenticate("nobody@example.com", "whatever-password")

        mock_dummy.assert_called_once_with("whatever-password")

    async def test_authenticate_refuses_a_deactivated_user(
        self, user_service: UserService, mock_user_repository: AsyncMock
    ) -> None:
        mock_user_repository.get_by_email.return_value = User(
            id=1, email="off@example.com", username="off", hashed_password="h", is_active=False
        )

        with (
            patch("app.services.user_service.verify_password", autospec=True, return_value=True),
            pytest.raises(InvalidCredentialsError),
        ):
            await user_service.authenticate("off@example.com", "SecurePass123!")


@pytest.mark.unit
class TestHashingOffTheEventLoop:
    async def test_login_verifies_the_password_on_a_hashing_thread(
        self, user_service: UserService, mock_user_repository: AsyncMock
    ) -> None:
        mock_user_repository.get_by_email.return_value = User(
            id=1, email="a@example.com", username="a", hashed_password="stored", is_active=True
        )
        threads: list[str] = []

        def verify(_password: str, _hashed: str) -> bool:
            threads.append(threading.current_thread().name)
            return True

        with patch("app.services.user_service.verify_password", side_effect=verify, autospec=True):
            await user_service.authenticate("a@example.com", "Some-Password-1")

        assert len(threads) == 1
        assert threads[0].startswith("password-hashing")

    async def test_registration_hashes_on_a_hashing_thread(
        self, user_service: UserService, mock_user_repository: AsyncMock
    ) -> None:
        mock_user_repository.get_by_email.return_value = None
        mock_user_repository.create.side_effect = lambda user: user
        threads: list[str] = []

        def hash_(_password: str) -> str:
            threads.append(threading.current_thread().name)
            return "hashed"

        with patch("app.services.user_service.hash_password", side_effect=hash_, autospec=True):
            await user_service.create_user(UserCreate(email="b@example.com", username="bee", password="SecurePass123!"))

        assert len(threads) == 1
        assert threads[0].startswith("password-hashing")
