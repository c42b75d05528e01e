from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, EmailStr, Field, StringConstraints, model_validator

from app.schemas.common import RequestModel, ResponseModel, TextValue
from app.utils.password import is_common_password

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

Username = Annotated[str, StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


def _not_common(password: str) -> str:
    if is_common_password(password):
        msg = "is one of the most common passwords; choose another"
        raise ValueError(msg)
    return password


#: Kept exactly as typed: no trimming, no normalisation.
Password = Annotated[TextValue, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]
#: A password being chosen: also not one of the most common ones, nor the account's own name.
NewPassword = Annotated[Password, AfterValidator(_not_common)]
Email = Annotated[EmailStr, Field(max_length=254)]


class UserCreate(RequestModel):
    email: Email
    username: Username
    password: NewPassword

    @model_validator(mode="after")
    def _password_is_not_the_name(self) -> Self:
        if self.password.lower() in (self.email.lower(), self.username.lower()):
            msg = "password must differ from the email and the username"
            raise ValueError(msg)
        return self


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
    is_superuser: bool
    updated_at: datetime


#: A password as typed to prove who one is (checked, never stored): any non-empty text.
CurrentPassword = Annotated[TextValue, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


class PasswordChange(RequestModel):
    current_password: CurrentPassword
    new_password: NewPassword


class AccountDeletion(RequestModel):
    current_password: CurrentPassword
