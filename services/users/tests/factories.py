"""Factories for test data: ``build`` makes an unsaved model, ``create`` saves it."""

from __future__ import annotations

import uuid
from typing import Any

from faker import Faker
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.post import Post
from app.models.user import User

fake = Faker()


def unique_email() -> str:
    return f"{fake.user_name()}.{uuid.uuid4().hex[:12]}@example.com"


def unique_username() -> str:
    return f"user_{uuid.uuid4().hex[:16]}"


class UserFactory:
    """Users with unique email and username (safe across tests that really commit)."""

    @staticmethod
    def build(**kwargs: Any) -> User:
        defaults: dict[str, Any] = {
            "email": unique_email(),
            "username": unique_username(),
            "hashed_password": "hashed_password",
            "is_active": True,
            "is_verified": False,
        }
        defaults.update(kwargs)
        return User(**defaults)

    @staticmethod
    async def create(db_session: AsyncSession, **kwargs: Any) -> User:
        user = UserFactory.build(**kwargs)
        db_session.add(user)
        await db_session.commit()
        await db_session.refresh(user)
        return user


class PostFactory:
    @staticmethod
    def build(user_id: int, **kwargs: Any) -> Post:
        defaults: dict[str, Any] = {
            "title": fake.sentence()[:200],
            "content": fake.text(),
            "user_id": user_id,
            "published": False,
        }
        defaults.update(kwargs)
        return Post(**defaults)

    @staticmethod
    async def create(db_session: AsyncSession, user_id: int, **kwargs: Any) -> Post:
        post = PostFactory.build(user_id, **kwargs)
        db_session.add(post)
        await db_session.commit()
        await db_session.refresh(post)
        return post
