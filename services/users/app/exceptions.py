"""Domain exceptions. They know nothing of HTTP: ``app.api.errors`` maps them to responses.

Every exception carries a stable machine-readable ``code`` that clients can rely on.
"""

from __future__ import annotations

from servicekit import exceptions


class DomainError(exceptions.DomainError):
    """Base of every error the users service reports to its callers on purpose."""


class NotFoundError(DomainError, LookupError):
    code = "not_found"
    default_message = "Resource not found"


class UserNotFoundError(NotFoundError, ValueError):
    """Also a ``ValueError``: the seed's callers catch that for a missing user."""

    code = "user_not_found"
    default_message = "User not found"


class PostNotFoundError(NotFoundError):
    code = "post_not_found"
    default_message = "Post not found"


class ConflictError(DomainError):
    code = "conflict"
    default_message = "The resource already exists"


class UserAlreadyExistsError(ConflictError):
    code = "user_already_exists"
    default_message = "A user with this email or username already exists"


class AuthenticationError(DomainError):
    """The caller could not be authenticated (bad, expired or revoked credentials)."""

    code = "not_authenticated"
    default_message = "Could not validate credentials"


class InvalidCredentialsError(AuthenticationError):
    code = "invalid_credentials"
    default_message = "Invalid email or password"


class InvalidTokenError(AuthenticationError):
    code = "invalid_token"
    default_message = "Invalid or expired token"


class RefreshTokenReusedError(InvalidTokenError):
    """A rotated refresh token came back (its family has been revoked)."""


class AccountDisabledTokenError(InvalidTokenError):
    """A refresh token of a deactivated account (its family has been revoked)."""


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    default_message = "You are not allowed to perform this action"


class CurrentPasswordInvalidError(PermissionDeniedError):
    code = "current_password_invalid"
    default_message = "The current password is incorrect"


class TooManyAttemptsError(DomainError):
    code = "too_many_attempts"
    default_message = "Too many failed login attempts, try again later"

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        self.retry_after_seconds = max(1, retry_after_seconds)
        super().__init__(message)


class LinkTokenInvalidError(DomainError):
    """A token from an emailed link that is unknown, used, expired, or no longer matches its account."""

    code = "invalid_link_token"
    default_message = "This link is invalid or has expired"


class VerificationTokenInvalidError(LinkTokenInvalidError):
    code = "invalid_verification_token"
    default_message = "This verification link is invalid or has expired; ask for a new one"


class ResetTokenInvalidError(LinkTokenInvalidError):
    code = "invalid_reset_token"
    default_message = "This password reset link is invalid or has expired; ask for a new one"


class WeakPasswordError(DomainError):
    """A new password the policy refuses for this account (the request schema checks the rest)."""

    code = "weak_password"
    default_message = "The password must differ from the account's email and username"


class EmailNotVerifiedError(PermissionDeniedError):
    code = "email_not_verified"
    default_message = "Verify your email address before logging in"


class AlreadyVerifiedError(ConflictError):
    code = "already_verified"
    default_message = "The email address is already verified"


class CannotDeactivateSelfError(ConflictError):
    code = "cannot_deactivate_self"
    default_message = "A superuser cannot deactivate their own account"
