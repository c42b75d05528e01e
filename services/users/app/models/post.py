from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, TimestampMixin

TITLE_MAX_LENGTH = 200


class Post(TimestampMixin, Base):
    """A post; drafts (``published=False``) are visible to their author only."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    content: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (
        Index("ix_posts_published_id", "published", "id"),
        Index("ix_posts_user_id_id", "user_id", "id"),
    )

    def __repr__(self) -> str:
        return f"Post(id={self.id!r}, user_id={self.user_id!r}, published={self.published!r})"
