from __future__ import annotations

from sqlalchemy import Boolean, Index, String, func, true
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, TimestampMixin

EMAIL_MAX_LENGTH = 320
USERNAME_MAX_LENGTH = 50


class User(TimestampMixin, Base):
    """An account. Email and username are unique regardless of letter case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH))
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    #: Set only from the command line or at start-up (``app.cli``), never by a request.
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (
        Index("uq_users_email_lower", func.lower(email), unique=True),
        Index("uq_users_username_lower", func.lower(username), unique=True),
        #: Small: "is there a superuser?" at every start-up reads it, not the whole table.
        Index("ix_users_superusers", "id", postgresql_where=is_superuser),
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r})"
