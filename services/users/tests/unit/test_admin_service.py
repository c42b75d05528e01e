"""``AdminService`` on in-memory fakes: listing, deactivation ending every session, and superusers
made only by the command line and start-up (never promoting an account by accident)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest

from app.exceptions import CannotDeactivateSelfError, UserAlreadyExistsError, UserNotFoundError
from app.models.user import User
from app.schemas.user import UserCreate
from app.services.admin_service import AdminService, FirstSuperuser
from tests.factories import UserFactory
from tests.unit.fakes import FakeTokenRepository, FakeUserRepository

NEW = UserCreate(email="root@example.com", username="root", password="Operator-passphrase-9")


@pytest.fixture
def users() -> FakeUserRepository:
    return FakeUserRepository()


@pytest.fixture
def sessions(users: FakeUserRepository) -> FakeTokenRepository:
    return FakeTokenRepository(users)


@pytest.fixture
def service(users: FakeUserRepository, sessions: FakeTokenRepository) -> AdminService:
    return AdminService(users, sessions)


@pytest.fixture
async def admin(users: FakeUserRepository) -> User:
    return await users.create(UserFactory.build(email="admin@example.com", is_superuser=True))


@pytest.fixture
async def bob(users: FakeUserRepository) -> User:
    return await users.create(UserFactory.build(email="bob@example.com"))


@pytest.fixture(autouse=True)
def cheap_hash() -> Iterator[None]:
    with patch("app.services.passwords.hash_password", autospec=True, side_effect=lambda password: f"hash:{password}"):
        yield


@pytest.mark.unit
class TestSetActive:
    async def test_deactivation_ends_every_session_of_the_account(
        self, service: AdminService, sessions: FakeTokenRepository, admin: User, bob: User
    ) -> None:
        expires = datetime.now(UTC) + timedelta(hours=1)
        for _ in range(2):
            await sessions.create_family(bob.id, expires)
        admins = await sessions.create_family(admin.id, expires)

        changed = await service.set_active(admin, bob.id, is_active=False)

        assert changed is bob
        assert bob.is_active is False
        assert sessions.live_families(bob.id) == set()
        assert sessions.live_families(admin.id) == {admins.id}

    async def test_reactivation_brings_no_session_back(
        self, service: AdminService, sessions: FakeTokenRepository, admin: User, bob: User
    ) -> None:
        family = await sessions.create_family(bob.id, datetime.now(UTC) + timedelta(hours=1))
        await service.set_active(admin, bob.id, is_active=False)

        await service.set_active(admin, bob.id, is_active=True)

        assert bob.is_active is True
        assert family.revoked_at is not None

    async def test_a_superuser_cannot_deactivate_themself(self, service: AdminService, admin: User) -> None:
        with pytest.raises(CannotDeactivateSelfError):
            await service.set_active(admin, admin.id, is_active=False)

        assert admin.is_active is True

    async def test_an_unknown_account_is_not_found(self, service: AdminService, admin: User) -> None:
        with pytest.raises(UserNotFoundError):
            await service.set_active(admin, 999, is_active=False)


@pytest.mark.unit
class TestListUsers:
    async def test_filters_by_email_prefix_in_any_case_and_by_state(
        self, service: AdminService, users: FakeUserRepository, admin: User, bob: User
    ) -> None:
        bobby = await users.create(UserFactory.build(email="Bobby@example.com", is_active=False))

        assert [u.id for u in await service.list_users(email_prefix="BOB", is_active=None, limit=10, offset=0)] == [
            bob.id,
            bobby.id,
        ]
        assert [u.id for u in await service.list_users(email_prefix="bob", is_active=False, limit=10, offset=0)] == [
            bobby.id
        ]
        assert [u.id for u in await service.list_users(email_prefix=None, is_active=None, limit=2, offset=1)] == [
            bob.id,
            bobby.id,
        ]


@pytest.mark.unit
class TestSuperusers:
    async def test_a_created_superuser_is_verified_with_a_hashed_password(self, service: AdminService) -> None:
        created = await service.create_superuser(NEW)

        assert (created.email, created.is_superuser, created.is_verified) == ("root@example.com", True, True)
        assert created.hashed_password == "hash:Operator-passphrase-9"

    async def test_an_existing_email_is_not_taken_over(self, service: AdminService, bob: User) -> None:
        with pytest.raises(UserAlreadyExistsError):
            await service.create_superuser(NEW.model_copy(update={"email": "BOB@example.com"}))

        assert bob.is_superuser is False

    async def test_promote_makes_an_existing_account_a_superuser(self, service: AdminService, bob: User) -> None:
        promoted = await service.promote("bob@example.com")

        assert promoted is bob
        assert bob.is_superuser is True
        assert bob.hashed_password == "hashed_password"

    async def test_promote_of_an_unknown_email_is_not_found(self, service: AdminService) -> None:
        with pytest.raises(UserNotFoundError):
            await service.promote("nobody@example.com")


@pytest.mark.unit
class TestFirstSuperuser:
    async def test_created_when_there_is_none(
        self, service: AdminService, users: FakeUserRepository, bob: User
    ) -> None:
        assert await service.ensure_first_superuser(NEW) is FirstSuperuser.CREATED

        assert [user.email for user in users.users.values() if user.is_superuser] == ["root@example.com"]

    async def test_nothing_when_a_superuser_exists(
        self, service: AdminService, users: FakeUserRepository, admin: User
    ) -> None:
        assert await service.ensure_first_superuser(NEW) is FirstSuperuser.ALREADY_THERE

        assert len(users.users) == 1

    async def test_an_ordinary_account_with_the_email_is_never_promoted(
        self, service: AdminService, users: FakeUserRepository
    ) -> None:
        squatter = await users.create(UserFactory.build(email="root@example.com"))

        assert await service.ensure_first_superuser(NEW) is FirstSuperuser.EMAIL_TAKEN

        assert squatter.is_superuser is False
        assert len(users.users) == 1
