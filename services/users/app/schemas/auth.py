from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from app.schemas.common import RequestModel, TextValue
from app.schemas.user import PASSWORD_MAX_LENGTH, Email, NewPassword
from app.utils.tokens import TOKEN_MAX_LENGTH

#: An opaque token as the service issues them (base64url); anything else is refused before any lookup.
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=TOKEN_MAX_LENGTH, pattern=r"^[A-Za-z0-9_-]+$")]
RefreshTokenValue = OpaqueToken


class LoginRequest(RequestModel):
    email: Annotated[EmailStr, Field(max_length=254)]
    password: Annotated[TextValue, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


class RefreshRequest(RequestModel):
    refresh_token: RefreshTokenValue


class LogoutRequest(RequestModel):
    """Optional body of a logout: a refresh token whose family is revoked as well."""

    refresh_token: RefreshTokenValue | None = None


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int = Field(description="Lifetime of the access token in seconds")


class MessageResponse(BaseModel):
    detail: str


class VerifyEmailRequest(RequestModel):
    """The token from the verification link's fragment (``#token=...``)."""

    token: OpaqueToken


class ForgotPasswordRequest(RequestModel):
    email: Email


class ResetPasswordRequest(RequestModel):
    """The token from the reset link's fragment, and the new password (the policy of registration)."""

    token: OpaqueToken
    new_password: NewPassword
