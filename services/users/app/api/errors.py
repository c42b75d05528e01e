"""The single place where exceptions become HTTP responses.

Every error body is an ``ErrorResponse`` with a stable ``code``; routes list theirs in OpenAPI
through :func:`error_responses`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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
from app.schemas.error import ErrorResponse
from servicekit.db_errors import DRIVER_CONNECTION_ERRORS, meaning

logger = logging.getLogger(__name__)

_STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (LinkTokenInvalidError, 400),
    (WeakPasswordError, 422),
    (TooManyAttemptsError, 429),
    (NotFoundError, 404),
    (ConflictError, 409),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
)
_CODE_BY_HTTP_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_LOST_RACE_DETAIL = "A concurrent request changed the same data; retry"
_DESCRIPTIONS = {
    400: "Request body could not be read (e.g. not UTF-8)",
    401: "Missing, invalid, expired or revoked credentials",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with existing data",
    413: "Request body larger than allowed",
    422: "Invalid input",
    429: "Too many attempts; see Retry-After",
    500: "Unexpected error (generic body with a request id)",
    503: "A dependency is unavailable",
}


def status_for(error: DomainError) -> int:
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def error_responses(*statuses: int, uses_database: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route: each status documented with the error body.

    Any route can answer 413 and 500; one that uses the database also answers 503 when it is down.
    """
    always = (413, 500, 503) if uses_database else (413, 500)
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in (*statuses, *always)
    }


def request_id_of(request: Request) -> str | None:
    request_id = request.scope.get("state", {}).get("request_id")
    return str(request_id) if request_id is not None else None


def error_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    request_id = request_id_of(request)
    body = ErrorResponse(detail=detail, code=code, request_id=request_id, errors=errors)
    # Set here as well as by RequestIdMiddleware: a 500 is sent by Starlette's outermost middleware,
    # which runs outside every middleware of the app.
    all_headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})}
    if request_id:
        all_headers["X-Request-ID"] = request_id
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=all_headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)  # noqa: S101 - registered for DomainError only
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyAttemptsError):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return error_response(request, status, exc.code, exc.message, headers=headers)


def _public_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the rejected input back: it may be a password.
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        for error in exc.errors()
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = _public_validation_errors(exc)
    return error_response(request, 422, "validation_error", "Request validation failed", errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method the request's path answers: Starlette's 405 names only the first route that matched."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = _CODE_BY_HTTP_STATUS.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = _allowed_methods(request)
    return error_response(request, exc.status_code, code, str(exc.detail), headers=headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    logger.info("constraint violation: %s", exc)
    return error_response(request, 409, "conflict", "The request conflicts with existing data")


async def _lost_race(request: Request, exc: Exception) -> JSONResponse:
    """An UPDATE or DELETE matched no row: a concurrent request changed or deleted it first."""
    logger.info("concurrent update conflict: %s", exc)
    return error_response(request, 409, "conflict", _LOST_RACE_DETAIL)


async def _dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error("dependency unavailable: %r", exc)
    return error_response(
        request, 503, "service_unavailable", "A dependency of the service is unavailable", headers={"Retry-After": "5"}
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other database error: unavailable (503), lost a race (409), or a bug (500)."""
    match meaning(exc):
        case "unavailable":
            return await _dependency_unavailable(request, exc)
        case "conflict":
            return await _lost_race(request, exc)
        case _:
            return await _unexpected_error(request, exc)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error, request_id=%s", request_id_of(request), exc_info=exc)
    return error_response(request, 500, "internal_error", "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(StaleDataError, _lost_race)
    # The driver's own connection errors come from the read side, which talks to asyncpg directly.
    unavailable_errors = (OperationalError, InterfaceError, PoolTimeoutError, RedisError, *DRIVER_CONNECTION_ERRORS)
    for unavailable in unavailable_errors:
        app.add_exception_handler(unavailable, _dependency_unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
