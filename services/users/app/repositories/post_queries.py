"""The read side of posts: the public list, one statement on a driver connection, no transaction."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select

from app.database import ReadDatabase, driver_statement
from app.models.post import Post
from app.models.user import User


class PostRow(NamedTuple):
    id: int
    title: str
    content: str
    user_id: int
    published: bool
    created_at: datetime
    updated_at: datetime


#: Compiled once from the models (so it cannot drift from the schema) and run straight on the
#: driver: through the ORM session, building and loading 20 entities took most of the request's
#: CPU (profile of GET /posts, bench/results/). A deactivated author's posts are left out, as
#: their profile is 404.
_PUBLISHED_PAGE_SQL = driver_statement(
    select(Post.id, Post.title, Post.content, Post.user_id, Post.published, Post.created_at, Post.updated_at)
    .join(User, User.id == Post.user_id)
    .where(Post.published, User.is_active)
    .order_by(Post.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


class PostQueries:
    """Read-only post queries, run through a :class:`ReadDatabase`."""

    def __init__(self, read_db: ReadDatabase) -> None:
        self._read_db = read_db

    async def published_page(self, *, limit: int, offset: int) -> list[PostRow]:
        """Up to ``limit`` published posts of active authors from ``offset``, newest first."""
        async with self._read_db.driver_connection() as driver:
            records = await driver.fetch(
                _PUBLISHED_PAGE_SQL.sql, *_PUBLISHED_PAGE_SQL.arguments({"limit": limit, "offset": offset})
            )
        return [PostRow(*record) for record in records]
