"""Single-use secrets sent by email (verification and password reset links).

Only a SHA-256 digest is stored. An account holds at most one live token per purpose (the primary
key): asking again replaces the previous token, which stops working at once.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base
from app.models.user import EMAIL_MAX_LENGTH


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret


class AccountToken(Base):
    """A token for one purpose, bound to the address it was sent to; deleted when used."""

    __tablename__ = "account_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"purpose IN {tuple(purpose.value for purpose in TokenPurpose)}", name="purpose"),
    )

    def __repr__(self) -> str:
        return f"AccountToken(user_id={self.user_id!r}, purpose={self.purpose!r})"
