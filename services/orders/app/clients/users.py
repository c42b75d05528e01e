"""The orders service's client of the users service (production code: the API and the worker).

One pooled keep-alive ``httpx.AsyncClient`` per process. Every call has connect and read
timeouts and an overall deadline; idempotent calls (every call here is a GET) are retried with
exponential backoff and jitter on transient failures (stamina); a circuit breaker (purgatory)
stops calling a users service that keeps failing and lets a trial call through after its TTL.
Every response is validated: a redirect, an oversized or malformed body, or an unexpected
status is an error, never trusted. A call made while serving a request carries that request's
``X-Request-ID`` (servicekit's ``propagate_request_id`` hook), so the users service's log lines
for it share the id. Callers get domain errors only:
:class:`NotAuthenticatedError`, :class:`UserNotFoundError`, :class:`UsersServiceUnavailableError`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx
import stamina
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.config import Settings
from app.exceptions import NotAuthenticatedError, UserNotFoundError, UsersServiceUnavailableError
from servicekit.observability import propagate_request_id

CIRCUIT = "users-service"
_RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A database id of the users service (PostgreSQL ``integer``).
_MAX_USER_ID = 2_147_483_647


@dataclass(frozen=True)
class RemoteUser:
    """What the orders service needs of a user: who it is."""

    id: int


class _UserBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    id: int = Field(ge=1, le=_MAX_USER_ID)


class _ErrorBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    code: str
    detail: str


@dataclass(frozen=True)
class _Answer:
    """A response of the users service that is not a failure of the service itself."""

    status: int
    body: dict[str, Any]


class _TransientError(Exception):
    """A failure worth another attempt: transport error, timeout, 5xx or 429."""


class _MalformedResponseError(Exception):
    """A response that cannot be trusted; not retried (the same call would get it again)."""


class UsersClient:
    """Calls to the users service; build one per process with :func:`create_users_client`."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings, breakers: AsyncCircuitBreakerFactory) -> None:
        self._http = http
        self._settings = settings
        self._breakers = breakers

    async def current_user(self, token: str) -> RemoteUser:
        """The owner of ``token`` (``GET /api/v1/users/me``), or :class:`NotAuthenticatedError`."""
        headers = {"Authorization": f"Bearer {token}"}
        answer = await self._get("/api/v1/users/me", headers)
        if answer.status == HTTPStatus.UNAUTHORIZED:
            raise NotAuthenticatedError
        return _user_from(answer, expected=HTTPStatus.OK)

    async def get_user(self, user_id: int) -> RemoteUser:
        """User ``user_id`` (``GET /api/v1/users/{id}``), or :class:`UserNotFoundError`."""
        answer = await self._get(f"/api/v1/users/{user_id}", {})
        if answer.status == HTTPStatus.NOT_FOUND and _error_code(answer) == "user_not_found":
            raise UserNotFoundError(user_id)
        user = _user_from(answer, expected=HTTPStatus.OK)
        if user.id != user_id:
            msg = f"asked for user {user_id}, the users service answered user {user.id}"
            raise UsersServiceUnavailableError(msg)
        return user

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, headers: dict[str, str]) -> _Answer:
        """One idempotent call: under the breaker, retried, within the overall deadline."""
        try:
            breaker = await self._breakers.get_breaker(CIRCUIT)
            async with breaker, asyncio.timeout(self._settings.users_deadline_seconds):
                return await self._get_with_retries(path, headers)
        except OpenedState as opened:
            retry_after = self._seconds_until_trial(opened)
            raise UsersServiceUnavailableError("circuit breaker open", retry_after_seconds=retry_after) from opened
        except (_TransientError, _MalformedResponseError) as error:
            # The reason (never shown to callers) is what the worker records with its retry.
            raise UsersServiceUnavailableError(str(error)) from error
        except TimeoutError as error:
            msg = f"GET {path}: no answer within {self._settings.users_deadline_seconds} s"
            raise UsersServiceUnavailableError(msg) from error

    async def _get_with_retries(self, path: str, headers: dict[str, str]) -> _Answer:
        settings = self._settings
        retrying = stamina.retry_context(
            on=_TransientError,
            attempts=settings.users_retry_attempts,
            timeout=settings.users_deadline_seconds,
            wait_initial=settings.users_retry_initial_wait_seconds,
            wait_jitter=settings.users_retry_initial_wait_seconds,
            wait_max=settings.users_deadline_seconds / 2,
        )
        async for attempt in retrying:
            with attempt:
                return await self._get_once(path, headers)
        raise AssertionError  # pragma: no cover - retry_context either returns or raises

    async def _get_once(self, path: str, headers: dict[str, str]) -> _Answer:
        try:
            async with self._http.stream("GET", path, headers=headers) as response:
                status = response.status_code
                if status in _RETRYABLE_STATUSES:
                    raise _TransientError(f"GET {path}: {status}")
                if response.is_redirect or status not in (HTTPStatus.OK, HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
                    raise _MalformedResponseError(f"GET {path}: unexpected status {status}")
                raw = await _read_bounded(response, self._settings.users_max_response_bytes)
        except httpx.TransportError as error:
            raise _TransientError(f"GET {path}: {error!r}") from error
        return _Answer(status, _json_object(raw, path))

    def _seconds_until_trial(self, opened: OpenedState) -> int:
        remaining = opened.opened_at + self._settings.users_breaker_ttl_seconds - time.time()
        return max(1, math.ceil(remaining))


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        msg = f"response of {declared} bytes declared, at most {limit} accepted"
        raise _MalformedResponseError(msg)
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > limit:
            msg = f"response longer than {limit} bytes"
            raise _MalformedResponseError(msg)
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(raw: bytes, path: str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as error:
        msg = f"GET {path}: body is not JSON"
        raise _MalformedResponseError(msg) from error
    if not isinstance(body, dict):
        msg = f"GET {path}: body is not a JSON object"
        raise _MalformedResponseError(msg)
    return body


def _user_from(answer: _Answer, *, expected: int) -> RemoteUser:
    if answer.status != expected:
        msg = f"unexpected status {answer.status}"
        raise UsersServiceUnavailableError(msg)
    try:
        return RemoteUser(id=_UserBody.model_validate(answer.body).id)
    except ValidationError as error:
        msg = "the users service answered a malformed user"
        raise UsersServiceUnavailableError(msg) from error


def _error_code(answer: _Answer) -> str | None:
    try:
        return _ErrorBody.model_validate(answer.body).code
    except ValidationError:
        return None


def create_users_client(settings: Settings) -> UsersClient:
    """The process's one client: pooled keep-alive connections, timeouts, no redirects followed."""
    timeout = httpx.Timeout(
        connect=settings.users_connect_timeout_seconds,
        read=settings.users_read_timeout_seconds,
        write=settings.users_read_timeout_seconds,
        pool=settings.users_connect_timeout_seconds,
    )
    limits = httpx.Limits(
        max_connections=settings.users_max_connections, max_keepalive_connections=settings.users_max_connections
    )
    http = httpx.AsyncClient(
        base_url=settings.users_base_url,
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": "orders-service"},
        event_hooks={"request": [propagate_request_id]},
    )
    breakers = AsyncCircuitBreakerFactory(
        default_threshold=settings.users_breaker_threshold,
        default_ttl=settings.users_breaker_ttl_seconds,
        # A call abandoned by its caller (a client that went away) says nothing about the service.
        exclude=[asyncio.CancelledError],
    )
    return UsersClient(http, settings, breakers)
