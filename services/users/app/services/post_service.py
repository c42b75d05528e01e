"""Posts: drafts are private to their author, published posts are public."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.exceptions import PermissionDeniedError, PostNotFoundError, UserNotFoundError
from app.models.post import Post
from app.repositories.post_repository import PostRepositoryPort
from app.repositories.user_repository import UserRepositoryPort
from app.services.authenticator import Actor


class NewPost(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def published(self) -> bool: ...


class PostChanges(Protocol):
    """A post change: ``None`` leaves a field as it is."""

    @property
    def title(self) -> str | None: ...
    @property
    def content(self) -> str | None: ...
    @property
    def published(self) -> bool | None: ...


class PostService:
    def __init__(self, posts: PostRepositoryPort, users: UserRepositoryPort) -> None:
        self._posts = posts
        self._users = users

    async def create_post(self, author: Actor, data: NewPost) -> Post:
        post = Post(title=data.title, content=data.content, published=data.published, user_id=author.id)
        return await self._posts.create(post)

    async def get_visible_post(self, post_id: int, viewer: Actor | None) -> Post:
        """A published post, or a draft its author asks for; anything else, and any post of a
        deactivated author, is "not found"."""
        post = await self._posts.get_if_author_active(post_id)
        if post is None or not (post.published or (viewer is not None and viewer.id == post.user_id)):
            raise PostNotFoundError
        return post

    async def update_post(self, author: Actor, post_id: int, changes: PostChanges) -> Post:
        post = await self._owned_post(author, post_id)
        if changes.title is not None:
            post.title = changes.title
        if changes.content is not None:
            post.content = changes.content
        if changes.published is not None:
            post.published = changes.published
        return await self._posts.update(post)

    async def delete_post(self, author: Actor, post_id: int) -> None:
        await self._posts.delete(await self._owned_post(author, post_id))

    async def list_user_posts(self, user_id: int, viewer: Actor | None, *, limit: int, offset: int) -> Sequence[Post]:
        """A user's published posts; the user themself also sees their drafts. A deactivated
        account is "not found", as its profile is."""
        owner = await self._users.get_by_id(user_id)
        if owner is None or owner.is_active is False:
            raise UserNotFoundError
        include_drafts = viewer is not None and viewer.id == user_id
        return await self._posts.list_by_user(user_id, include_drafts=include_drafts, limit=limit, offset=offset)

    async def _owned_post(self, author: Actor, post_id: int) -> Post:
        """The post to change, locked until the request ends, so a concurrent change or delete
        waits for this one (and the loser finds the post changed, or gone: 404)."""
        post = await self._posts.get_for_update(post_id)
        if post is None or not (post.published or post.user_id == author.id):
            raise PostNotFoundError
        if post.user_id != author.id:
            raise PermissionDeniedError
        return post
