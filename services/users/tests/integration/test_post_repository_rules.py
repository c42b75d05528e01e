"""``PostRepository.get_for_update`` returns the row as it is once locked, not as first read.

These commit for real (``live_user``): the change comes from another connection, as it would
from a concurrent request.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models.post import Post
from app.models.user import User
from app.repositories.post_repository import PostRepository
from tests.factories import PostFactory


@pytest.mark.integration
async def test_the_locked_post_shows_what_another_transaction_committed_since_it_was_read(
    test_engine: AsyncEngine, live_user: User
) -> None:
    async with AsyncSession(test_engine, expire_on_commit=False) as setup:
        post = await PostFactory.create(setup, live_user.id, title="Before", published=True)
    async with AsyncSession(test_engine) as session, session.begin():
        posts = PostRepository(session)
        first_read = await posts.get_by_id(post.id)  # kept: the session's identity map holds it weakly
        assert first_read is not None
        async with test_engine.begin() as concurrent:
            await concurrent.execute(update(Post).where(Post.id == post.id).values(title="After"))

        locked = await posts.get_for_update(post.id)

        assert locked is first_read
        assert locked.title == "After"
