"""Domain exceptions. They know nothing of HTTP: ``app.api.errors`` maps them to responses.

Every exception carries a stable machine-readable ``code`` that clients can rely on.
"""

from __future__ import annotations

from servicekit import exceptions


class DomainError(exceptions.DomainError):
    """Base of every error the orders service reports to its callers on purpose."""


class NotAuthenticatedError(DomainError):
    """No token, or a token the users service refuses (invalid, expired, revoked)."""

    code = "not_authenticated"
    default_message = "Could not validate credentials"


class OrderNotFoundError(DomainError):
    """No such order, or one of another user (the two are indistinguishable on purpose)."""

    code = "order_not_found"
    default_message = "Order not found"


class OrderNotCancellableError(DomainError):
    code = "order_not_cancellable"
    default_message = "Only a pending order can be cancelled"

    def __init__(self, status: str) -> None:
        super().__init__(f"The order is {status}; only a pending order can be cancelled")
        self.status = status


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request body"


class IdempotencyKeyInFlightError(DomainError):
    code = "idempotency_key_in_flight"
    default_message = "A request with this Idempotency-Key is still being processed; retry"


class UsersServiceError(DomainError):
    """The users service could not give an answer to rely on."""


class UsersServiceUnavailableError(UsersServiceError):
    """Down, too slow, failing, answering nonsense, or the circuit breaker is open: try later."""

    code = "users_service_unavailable"
    default_message = "The users service is unavailable; retry later"

    def __init__(self, reason: str | None = None, *, retry_after_seconds: int = 5) -> None:
        # The public detail is always the default message: what the users service answered
        # (its status, a malformed body) is for logs and the worker's retry record, not callers.
        super().__init__()
        self.reason = reason or self.default_message
        self.retry_after_seconds = max(1, retry_after_seconds)

    def __str__(self) -> str:
        return self.reason


class UserNotFoundError(UsersServiceError, LookupError):
    """The users service says this user does not exist (deleted or deactivated alike)."""

    code = "user_not_found"
    default_message = "User not found"

    def __init__(self, user_id: int) -> None:
        super().__init__(f"User {user_id} not found")
        self.user_id = user_id
