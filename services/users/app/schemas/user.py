from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import EmailStr, Field, StringConstraints, model_validator

from app.schemas.common import RequestModel, ResponseModel, TextValue

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

Username = Annotated[str, StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
#: Kept exactly as typed: no trimming, no normalisation.
Password = Annotated[TextValue, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]
Email = Annotated[EmailStr, Field(max_length=254)]


class UserCreate(RequestModel):
    email: Email
    username: Username
    password: Password


class UserUpdate(RequestModel):
    """A profile change. Changing the email needs the current password."""

    username: Username | None = None
    email: Email | None = None
    current_password: Annotated[TextValue, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)] | None = None

    @model_validator(mode="after")
    def _email_change_needs_password(self) -> Self:
        if self.email is not None and self.current_password is None:
            msg = "current_password is required to change the email"
            raise ValueError(msg)
        return self


class UserResponse(ResponseModel):
    """A user's profile as other users see it."""

    id: int
    email: str
    username: str
    created_at: datetime


class UserPrivateResponse(UserResponse):
    """The caller's own profile."""

    is_active: bool
    is_verified: bool
    updated_at: datetime
