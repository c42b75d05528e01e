"""The orders service's domain errors as HTTP statuses; every other handler is servicekit's."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI

from app.exceptions import (
    DomainError,
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    NotAuthenticatedError,
    OrderNotCancellableError,
    OrderNotFoundError,
    UsersServiceUnavailableError,
)
from servicekit.errors import DomainErrorTable, error_responses, install_error_handlers

__all__ = ["error_responses", "install", "status_table"]


def _headers(error: Exception) -> Mapping[str, str]:
    if isinstance(error, UsersServiceUnavailableError):
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}


status_table = DomainErrorTable(
    base=DomainError,
    statuses=(
        (NotAuthenticatedError, 401),
        (OrderNotFoundError, 404),
        (OrderNotCancellableError, 409),
        (IdempotencyKeyReusedError, 422),
        (IdempotencyKeyInFlightError, 409),
        (UsersServiceUnavailableError, 503),
    ),
    headers=_headers,
)


def install(app: FastAPI) -> None:
    install_error_handlers(app, status_table)
