"""``UserService`` profile rules on an in-memory repository; password checks patched."""

from __future__ import annotations

from unittest.mock import patch

import pytest

from app.exceptions import (
    CurrentPasswordInvalidError,
    PermissionDeniedError,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from app.models.user import User
from app.schemas.user import UserUpdate
from app.services.user_service import UserService
from tests.factories import UserFactory
from tests.unit.fakes import FakeUserRepository

VERIFY = "app.services.user_service.verify_password"


@pytest.fixture
def repository() -> FakeUserRepository:
    return FakeUserRepository()


@pytest.fixture
def service(repository: FakeUserRepository) -> UserService:
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
        self, service: UserService, owner: User, other: User
    ) -> None:
        with patch(VERIFY, return_value=True) as verify, pytest.raises(PermissionDeniedError):
            await service.update_own_profile(owner, other.id, UserUpdate(username="renamed"))

        assert other.username == "other"
        verify.assert_not_called()

    async def test_an_unknown_id_is_refused_the_same_way(self, service: UserService, owner: User) -> None:
        with pytest.raises(PermissionDeniedError) as caught:
            await service.update_own_profile(owner, owner.id + 1000, UserUpdate(username="renamed"))

        assert type(caught.value) is PermissionDeniedError

    async def test_owner_renames_without_a_password_check(self, service: UserService, owner: User) -> None:
        with patch(VERIFY) as verify:
            updated = await service.update_own_profile(owner, owner.id, UserUpdate(username="renamed"))

        assert updated.username == "renamed"
        assert updated.email == "owner@example.com"
        verify.assert_not_called()

    async def test_email_change_with_a_wrong_password_is_refused(self, service: UserService, owner: User) -> None:
        data = UserUpdate(email="new@example.com", current_password="wrong-password")

        with patch(VERIFY, return_value=False) as verify, pytest.raises(CurrentPasswordInvalidError):
            await service.update_own_profile(owner, owner.id, data)

        verify.assert_called_once_with("wrong-password", "stored-hash")
        assert owner.email == "owner@example.com"

    async def test_email_change_with_the_right_password(
        self, service: UserService, repository: FakeUserRepository, owner: User
    ) -> None:
        data = UserUpdate(email="new@example.com", current_password="right-password")

        with patch(VERIFY, return_value=True) as verify:
            updated = await service.update_own_profile(owner, owner.id, data)

        verify.assert_called_once_with("right-password", "stored-hash")
        assert updated.email == "new@example.com"
        assert await repository.get_by_email("NEW@example.com") is owner

    async def test_a_refused_password_leaves_the_username_too(self, service: UserService, owner: User) -> None:
        data = UserUpdate(username="renamed", email="new@example.com", current_password="wrong")

        with patch(VERIFY, return_value=False), pytest.raises(CurrentPasswordInvalidError):
            await service.update_own_profile(owner, owner.id, data)

        assert owner.username == "owner"

    async def test_taking_someone_elses_username_conflicts(
        self, service: UserService, owner: User, other: User
    ) -> None:
        with pytest.raises(UserAlreadyExistsError):
            await service.update_own_profile(owner, owner.id, UserUpdate(username="OTHER"))

    async def test_taking_someone_elses_email_conflicts(self, service: UserService, owner: User, other: User) -> None:
        data = UserUpdate(email="Other@Example.com", current_password="right-password")

        with patch(VERIFY, return_value=True), pytest.raises(UserAlreadyExistsError):
            await service.update_own_profile(owner, owner.id, data)


@pytest.mark.unit
class TestUpdateUser:
    async def test_unknown_user_is_not_found(self, service: UserService) -> None:
        with pytest.raises(UserNotFoundError):
            await service.update_user(42, UserUpdate(username="whoever"))

    async def test_not_found_is_also_a_value_error_as_in_the_seed(self, service: UserService) -> None:
        with pytest.raises(ValueError, match="not found"):
            await service.update_user(42, UserUpdate(username="whoever"))
