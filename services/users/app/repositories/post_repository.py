from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select

from app.exceptions import InvalidTokenError
from app.models.post import Post
from app.models.user import User
from app.repositories.base import SqlRepository


class PostRepositoryPort(Protocol):
    """What the services need from post storage (the SQL adapter or an in-memory fake)."""

    async def create(self, post: Post) -> Post:
        """Insert ``post``; an author gone since the token check raises ``InvalidTokenError``."""
        ...

    async def get_by_id(self, post_id: int) -> Post | None: ...
    async def get_if_author_active(self, post_id: int) -> Post | None:
        """The post, unless its author's account is deactivated (or gone)."""
        ...

    async def get_for_update(self, post_id: int) -> Post | None:
        """The post, row-locked until the transaction ends (None once it is deleted)."""
        ...

    async def update(self, post: Post) -> Post: ...
    async def delete(self, post: Post) -> None: ...
    async def list_by_user(self, user_id: int, *, include_drafts: bool, limit: int, offset: int) -> Sequence[Post]: ...


class PostRepository(SqlRepository):
    async def create(self, post: Post) -> Post:
        """Insert ``post``. The one constraint an insert can break is the author's foreign key: the
        account was deleted after the request's token check, so the request is not signed in."""
        self.session.add(post)
        await self._flush_or_raise(InvalidTokenError)
        return post

    async def get_by_id(self, post_id: int) -> Post | None:
        return await self.session.get(Post, post_id)

    async def get_if_author_active(self, post_id: int) -> Post | None:
        statement = select(Post).join(User, User.id == Post.user_id).where(Post.id == post_id, User.is_active)
        return (await self.session.scalars(statement)).first()

    async def get_for_update(self, post_id: int) -> Post | None:
        """``SELECT ... FOR UPDATE``: concurrent changes of one post queue up behind each other.

        Under READ COMMITTED a request that waited sees the winner's result: the row as changed,
        or no row once it is deleted (so the loser gets "not found", never a 0-row UPDATE).
        """
        return await self.session.get(Post, post_id, with_for_update=True, populate_existing=True)

    async def update(self, post: Post) -> Post:
        await self.session.flush()
        return post

    async def delete(self, post: Post) -> None:
        await self.session.delete(post)
        await self.session.flush()

    async def list_by_user(self, user_id: int, *, include_drafts: bool, limit: int, offset: int) -> Sequence[Post]:
        statement = select(Post).where(Post.user_id == user_id)
        if not include_drafts:
            statement = statement.where(Post.published)
        statement = statement.order_by(Post.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(statement)).all()
