"""The single place where exceptions become HTTP responses, shared by every service.

Every error body is an :class:`ErrorResponse` with a stable ``code``. A service installs the
handlers with its own table of domain errors (:class:`DomainErrorTable`); everything else
(validation, HTTP errors, database errors by SQLSTATE, the unexpected) is handled alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from servicekit.db_errors import DRIVER_CONNECTION_ERRORS, meaning

logger = logging.getLogger(__name__)

#: Seconds a client is asked to wait when a dependency is unavailable.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

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
    503: "A dependency is unavailable; see Retry-After",
}


class ErrorResponse(BaseModel):
    """Body of every error response."""

    detail: str = Field(description="Human-readable explanation")
    code: str = Field(description="Stable machine-readable error code", examples=["not_found"])
    request_id: str | None = Field(default=None, description="Correlates the response with server logs")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Per-field problems of a 422")


def _no_headers(_error: Exception) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class DomainErrorTable:
    """How a service's domain errors become responses.

    ``base`` is the class every domain error derives from; each has a ``code`` and a ``message``.
    ``statuses`` is searched in order (put subclasses before their bases); an error in none of
    them is a 400. ``headers`` adds headers for one error (e.g. ``Retry-After``).
    """

    base: type[Exception]
    statuses: Sequence[tuple[type[Exception], int]]
    headers: Callable[[Exception], Mapping[str, str]] = field(default=_no_headers)

    def status_for(self, error: Exception) -> int:
        for error_type, status in self.statuses:
            if isinstance(error, error_type):
                return status
        return HTTPStatus.BAD_REQUEST


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
    headers: Mapping[str, str] | None = None,
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


def _public_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the rejected input back: it may be a password.
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        for error in exc.errors()
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
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
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    code = _CODE_BY_HTTP_STATUS.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = _allowed_methods(request)
    return error_response(request, exc.status_code, code, str(exc.detail), headers=headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    logger.info("constraint violation: %s", exc)
    return error_response(request, 409, "conflict", "The request conflicts with existing data")


async def _lost_race(request: Request, exc: Exception) -> JSONResponse:
    """An UPDATE or DELETE matched no row, or a serialization failure: a concurrent request won."""
    logger.info("concurrent update conflict: %s", exc)
    return error_response(request, 409, "conflict", _LOST_RACE_DETAIL)


async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After``: the client may try again, nothing is wrong with its request."""
    logger.error("dependency unavailable: %r", exc)
    return error_response(
        request,
        503,
        "service_unavailable",
        "A dependency of the service is unavailable",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other database error: unavailable (503), lost a race (409), or a bug (500)."""
    match meaning(exc):
        case "unavailable":
            return await dependency_unavailable(request, exc)
        case "conflict":
            return await _lost_race(request, exc)
        case _:
            return await _unexpected_error(request, exc)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error, request_id=%s", request_id_of(request), exc_info=exc)
    return error_response(request, 500, "internal_error", "Internal server error")


def _domain_error_handler(table: DomainErrorTable) -> Callable[[Request, Exception], Any]:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        status = table.status_for(exc)
        headers = dict(table.headers(exc))
        if status == HTTPStatus.UNAUTHORIZED:
            headers.setdefault("WWW-Authenticate", "Bearer")
        code = str(getattr(exc, "code", "domain_error"))
        detail = str(getattr(exc, "message", exc))
        return error_response(request, status, code, detail, headers=headers)

    return handle


def install_error_handlers(
    app: FastAPI, domain_errors: DomainErrorTable, *, unavailable: tuple[type[Exception], ...] = ()
) -> None:
    """Register every handler on ``app``; ``unavailable`` adds errors of other stores (503)."""
    app.add_exception_handler(domain_errors.base, _domain_error_handler(domain_errors))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(StaleDataError, _lost_race)
    # The driver's own connection errors come from the read side, which talks to asyncpg directly.
    unavailable_errors = (OperationalError, InterfaceError, PoolTimeoutError, *DRIVER_CONNECTION_ERRORS, *unavailable)
    for error_type in unavailable_errors:
        app.add_exception_handler(error_type, dependency_unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
