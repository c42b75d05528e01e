"""The seed's repository tests, on real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.exceptions import UserAlreadyExistsError
from app.models.user import User
from app.repositories.user_repository import UserRepository
from tests.factories import UserFactory


@pytest.mark.integration
class TestUserRepository:
    async def test_create_user(self, db_session: AsyncSession) -> None:
        repository = UserRepository(db_session)
        user = User(email="test@example.com", username="testuser", hashed_password="hashed_password")

        result = await repository.create(user)
        await db_session.commit()

        assert result.id is not None
        assert result.email == "test@example.com"
        assert result.username == "testuser"
        assert result.is_active is True
        assert result.is_verified is False
        assert result.created_at is not None

    async def test_get_by_email(self, db_session: AsyncSession) -> None:
        repository = UserRepository(db_session)
        await repository.create(User(email="find@example.com", username="finduser", hashed_password="hashed"))
        await db_session.commit()

        found_user = await repository.get_by_email("find@example.com")

        assert found_user is not None
        assert found_user.email == "find@example.com"

    async def test_get_by_email_ignores_letter_case(self, db_session: AsyncSession) -> None:
        user = await UserFactory.create(db_session, email="Mixed.Case@Example.com")

        found = await UserRepository(db_session).get_by_email("mixed.case@example.COM")

        assert found is not None
        assert found.id == user.id

    async def test_get_by_email_not_found(self, db_session: AsyncSession) -> None:
        result = await UserRepository(db_session).get_by_email("nonexistent@example.com")

        assert result is None

    @pytest.mark.parametrize("field", ["email", "username"])
    async def test_create_refuses_a_duplicate_in_any_letter_case(self, db_session: AsyncSession, field: str) -> None:
        existing = await UserFactory.create(db_session)
        duplicate = UserFactory.build(**{field: getattr(existing, field).upper()})

        with pytest.raises(UserAlreadyExistsError):
            await UserRepository(db_session).create(duplicate)

    async def test_a_refused_duplicate_leaves_the_rollback_to_the_transaction_owner(
        self, db_session: AsyncSession
    ) -> None:
        existing = await UserFactory.create(db_session)
        existing_id, existing_email = existing.id, existing.email
        repository = UserRepository(db_session)

        with pytest.raises(UserAlreadyExistsError):
            await repository.create(UserFactory.build(email=existing_email.upper()))

        assert db_session.in_transaction()  # the repository rolled nothing back: not its call
        await db_session.rollback()  # what the request boundary does with the error
        found = await repository.get_by_email(existing_email)
        assert found is not None
        assert found.id == existing_id
        assert await db_session.scalar(select(func.count()).select_from(User)) == 1

    async def test_update_persists_changes(self, db_session: AsyncSession) -> None:
        user = await UserFactory.create(db_session)
        repository = UserRepository(db_session)

        user.username = "renamed_user"
        await repository.update(user)
        db_session.expunge_all()

        reloaded = await repository.get_by_id(user.id)
        assert reloaded is not None
        assert reloaded.username == "renamed_user"
        assert reloaded.updated_at >= reloaded.created_at


@pytest.mark.integration
async def test_user_can_create_post(db_session: AsyncSession) -> None:
    """The seed's factory example."""
    from tests.factories import PostFactory  # noqa: PLC0415 - as the seed writes it

    user = await UserFactory.create(db_session)

    post = await PostFactory.create(db_session, user_id=user.id, title="My Test Post")

    assert post.id is not None
    assert post.user_id == user.id
    assert post.title == "My Test Post"
