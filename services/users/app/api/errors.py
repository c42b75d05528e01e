"""The users service's domain errors as HTTP statuses; every other handler is servicekit's.

Every error body is servicekit's ``ErrorResponse`` with a stable ``code``; routes list theirs in
OpenAPI through :func:`error_responses`.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from redis.exceptions import RedisError

from app.exceptions import (
    AuthenticationError,
    ConflictError,
    DomainError,
    LinkTokenInvalidError,
    NotFoundError,
    PermissionDeniedError,
    TooManyAttemptsError,
    WeakPasswordError,
)
from servicekit.errors import DomainErrorTable, error_responses, install_error_handlers

__all__ = ["error_responses", "install", "status_table"]


def _headers(error: Exception) -> Mapping[str, str]:
    if isinstance(error, TooManyAttemptsError):
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}


status_table = DomainErrorTable(
    base=DomainError,
    statuses=(
        (LinkTokenInvalidError, 400),
        (WeakPasswordError, 422),
        (TooManyAttemptsError, 429),
        (NotFoundError, 404),
        (ConflictError, 409),
        (AuthenticationError, 401),
        (PermissionDeniedError, 403),
    ),
    headers=_headers,
)


def install(app: FastAPI) -> None:
    """servicekit's handlers with this table; the throttle store (Redis) down is a 503 too."""
    install_error_handlers(app, status_table, unavailable=(RedisError,))
