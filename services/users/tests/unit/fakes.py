"""In-memory repositories for unit tests of the services (no database, no I/O).

They keep the rules the SQL adapters get from PostgreSQL: ids are assigned on create, email and
username are unique regardless of letter case, lists are newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from app.exceptions import UserAlreadyExistsError
from app.models.post import Post
from app.models.user import User
from app.repositories.post_repository import PostRepositoryPort
from app.repositories.user_repository import UserRepositoryPort


class FakeUserRepository:
    """Users in a dict. ``create`` and ``update`` enforce case-insensitive uniqueness."""

    def __init__(self, users: Iterable[User] = ()) -> None:
        self.users: dict[int, User] = {}
        self._next_id = 1
        for user in users:
            self._store(user)

    def _store(self, user: User) -> User:
        if not user.id:
            user.id = self._next_id
        self._next_id = max(self._next_id, user.id + 1)
        now = datetime.now(UTC)
        user.created_at = user.created_at or now
        user.updated_at = user.updated_at or now
        user.is_active = True if user.is_active is None else user.is_active
        user.is_verified = False if user.is_verified is None else user.is_verified
        self.users[user.id] = user
        return user

    def _check_unique(self, user: User) -> None:
        for other in self.users.values():
            if other is user or other.id == user.id:
                continue
            if other.email.lower() == user.email.lower() or other.username.lower() == user.username.lower():
                raise UserAlreadyExistsError

    async def create(self, user: User) -> User:
        self._check_unique(user)
        return self._store(user)

    async def get_by_id(self, user_id: int) -> User | None:
        return self.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((user for user in self.users.values() if user.email.lower() == email.lower()), None)

    async def update(self, user: User) -> User:
        self._check_unique(user)
        user.updated_at = datetime.now(UTC)
        return user


class FakePostRepository:
    """Posts in a dict, listed newest (highest id) first."""

    def __init__(self) -> None:
        self.posts: dict[int, Post] = {}
        self._next_id = 1

    async def create(self, post: Post) -> Post:
        post.id = self._next_id
        self._next_id += 1
        post.published = bool(post.published)
        post.created_at = post.updated_at = datetime.now(UTC)
        self.posts[post.id] = post
        return post

    async def get_by_id(self, post_id: int) -> Post | None:
        return self.posts.get(post_id)

    async def update(self, post: Post) -> Post:
        post.updated_at = datetime.now(UTC)
        return post

    async def delete(self, post: Post) -> None:
        del self.posts[post.id]

    def _newest_first(self, posts: Iterable[Post], limit: int, offset: int) -> Sequence[Post]:
        return sorted(posts, key=lambda post: post.id, reverse=True)[offset : offset + limit]

    async def list_published(self, *, limit: int, offset: int) -> Sequence[Post]:
        return self._newest_first((post for post in self.posts.values() if post.published), limit, offset)

    async def list_by_user(self, user_id: int, *, include_drafts: bool, limit: int, offset: int) -> Sequence[Post]:
        mine = (post for post in self.posts.values() if post.user_id == user_id and (include_drafts or post.published))
        return self._newest_first(mine, limit, offset)


def _conforms(users: FakeUserRepository, posts: FakePostRepository) -> tuple[UserRepositoryPort, PostRepositoryPort]:
    """Type-checks that the fakes implement the ports the services depend on."""
    return users, posts
