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

    __table_args__ = (
        Index("uq_users_email_lower", func.lower(email), unique=True),
        Index("uq_users_username_lower", func.lower(username), unique=True),
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r})"
