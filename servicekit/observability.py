"""Logs a team can run on: one JSON line per event in production, the request id on every line.

- :func:`configure_logging`: one handler on the root logger for the whole process (the service's
  loggers, uvicorn, SQLAlchemy, httpx), JSON lines (python-json-logger) or readable text, with
  the request id and the redaction filter on every record; uvicorn's access log off (its line
  carries the raw path and query string, which can carry secrets).
- :class:`RequestLogMiddleware`: one line per request (method, route template, status,
  duration, request id), and the request id in a context variable while the request is served.
- :func:`current_request_id` and :func:`propagate_request_id`: pass the id on to other services.
- :func:`install_observability`: all of it for one app, in one call.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Any, Final, Literal, TextIO

import httpx
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.redaction import RedactionFilter

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

REQUEST_LOGGER_NAME: Final = "servicekit.requests"
REQUEST_ID_HEADER: Final = "X-Request-ID"
#: The route label of a request that matched no route: raw paths never become labels or fields.
UNMATCHED_ROUTE: Final = "<unmatched>"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_request_logger = logging.getLogger(REQUEST_LOGGER_NAME)


class ObservabilitySettings(BaseSettings):
    """Logging, metrics and shutdown settings every service has; services subclass it."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", validate_assignment=True)

    environment: Environment = "development"
    log_level: LogLevel = "INFO"
    #: ``json`` or ``text``; unset means JSON in production, text elsewhere.
    log_format: Literal["json", "text"] | None = None
    metrics_enabled: bool = True
    #: How long a SIGTERM waits for requests in flight before cancelling them.
    shutdown_grace_seconds: int = Field(default=20, ge=1, le=600)

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" if self.log_format is not None else self.environment == "production"


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _request_id.get()


def request_id_headers() -> dict[str, str]:
    """``{"X-Request-ID": id}`` inside a request, else ``{}``: for any outgoing HTTP call."""
    request_id = _request_id.get()
    return {REQUEST_ID_HEADER: request_id} if request_id is not None else {}


async def propagate_request_id(request: httpx.Request) -> None:
    """An httpx request hook: ``AsyncClient(event_hooks={"request": [propagate_request_id]})``."""
    request_id = _request_id.get()
    if request_id is not None and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``missing`` outside a request)."""

    def __init__(self, missing: str | None = None) -> None:
        super().__init__()
        self.missing = missing

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        record.request_id = request_id if request_id is not None else self.missing
        return True


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current ``sys.stderr``."""


_TEXT_FORMAT: Final = "%(asctime)s %(levelname)-8s %(name)s [%(request_id)s] %(message)s"
_JSON_FIELDS: Final = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


def build_formatter(service_name: str, *, json: bool) -> logging.Formatter:
    if json:
        return JsonFormatter(
            _JSON_FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service_name},
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )
    return logging.Formatter(_TEXT_FORMAT)


def configure_logging(service_name: str, settings: ObservabilitySettings) -> logging.Handler:
    """Route every logger of the process through one handler; idempotent, other handlers kept.

    Replaces the handler a previous call installed (so a test runner's capture handlers stay),
    sets the root level, and makes uvicorn's loggers propagate to it with the access log off.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "servicekit", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.servicekit = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter(missing=None if settings.json_logs else "-"))
    handler.addFilter(RedactionFilter())
    handler.setFormatter(build_formatter(service_name, json=settings.json_logs))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # SQLAlchemy caps its loggers at WARNING on import (INFO would be every statement): DEBUG
    # lifts the cap, any other level keeps it.
    logging.getLogger("sqlalchemy").setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.setLevel(logging.NOTSET)
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    return handler


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/users/{user_id}``), never the raw path.

    FastAPI resolves a route of an included router to a context that carries the full template
    (``scope["route"]`` is the router's own route, without the prefix); Starlette's router sets
    ``scope["route"]``; a route or mount added to the app itself is found by its endpoint.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    if isinstance(template, str) and template:
        return template
    endpoint = scope.get("endpoint")
    if endpoint is not None:
        for route in getattr(scope.get("router"), "routes", ()):
            if getattr(route, "endpoint", None) is endpoint or getattr(route, "app", None) is endpoint:
                return str(route.path)
    return UNMATCHED_ROUTE


def response_status(message: Message, current: int) -> int:
    return int(message["status"]) if message["type"] == "http.response.start" else current


class RequestLogMiddleware:
    """One INFO line per request, and the request id in context while it is served.

    Put it inside the middleware that assigns ``scope["state"]["request_id"]``. When the app
    raises, the line says 500 and the id stays set, so the error handler's own line (logged by
    Starlette's outermost middleware, after this one) carries it too; every request runs in its
    own task under a server, so the id goes no further.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request_id.set(scope.get("state", {}).get("request_id"))
        status = 500
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            status = response_status(message, status)
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException:
            _log_request(scope, 500, started)
            raise
        _log_request(scope, status, started)
        _request_id.reset(token)


def _log_request(scope: Scope, status: int, started: float) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    method, route = scope["method"], route_template(scope)
    _request_logger.info(
        "%s %s %d %.2fms",
        method,
        route,
        status,
        duration_ms,
        extra={"http_method": method, "route": route, "status": status, "duration_ms": duration_ms},
    )


Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def install_observability(app: FastAPI, *, service_name: str, settings: ObservabilitySettings) -> None:
    """Request logging for ``app`` now, and the process's logging configured at start-up.

    Call it before adding the request-id middleware, so that one runs first.
    """
    app.add_middleware(RequestLogMiddleware)
    inner: Lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan_with_logging(application: Any) -> AsyncIterator[Any]:
        configure_logging(service_name, settings)
        async with inner(application) as state:
            yield state

    app.router.lifespan_context = lifespan_with_logging
