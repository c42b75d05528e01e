"""What the API fuzz tests need: the document with its links, Schemathesis' configuration, a target.

The document is the one the app publishes (``app.openapi()``, what ``/openapi.json`` serves), plus
the OpenAPI links a client follows that Schemathesis cannot infer on its own (request body to
request body, e.g. register then log in with the same credentials). Schemathesis infers the rest
from ids: ``POST /posts`` -> ``GET/PATCH/DELETE /posts/{post_id}``, ``POST /users`` ->
``GET /users/{user_id}``...
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from hypothesis import settings
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.config import get_settings
from app.main import app, build_login_throttle, build_rate_limits, create_app
from app.utils.jwt import create_access_token
from servicekit.testing.fuzz import FUZZ_SETTINGS, fuzz_config
from servicekit.testing.live_server import serve_in_thread
from tests.factories import UserFactory
from tests.support.databases import TRUNCATE_ALL_TABLES

API = "/api/v1"
#: Schema-valid input may still be refused with 422: the service enforces rules JSON Schema cannot
#: state (breached passwords, a password equal to the name, an email change without the current
#: password, special-use email domains, one-line email subjects).
FUZZ_CONFIG = fuzz_config(
    # Workflows go deep with valid input; invalid input is the single operations' business.
    phases={"stateful": {"generation": {"mode": "positive"}}},
    operations=[
        {
            # PATCH /users/me reaches PATCH /users/{user_id} ("me" is not an id: 422, not 405), so a
            # 405 on /users/me rightly lists PATCH in Allow although the document has no PATCH there.
            "include-name": f"GET {API}/users/me",
            "checks": {"unsupported_method": {"enabled": False}, "allow_header_conformance": {"enabled": False}},
        }
    ],
)
#: Operations no data flows into: the workflows never call them, the single-operation tests do.
STATEFUL_SETTINGS = settings(FUZZ_SETTINGS, max_examples=50, stateful_step_count=10)


def _operation_ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _link(document: dict[str, Any], source: tuple[str, str, str], name: str, link: dict[str, Any]) -> None:
    path, method, status = source
    response = document["paths"][f"{API}{path}"][method]["responses"][status]
    response.setdefault("links", {})[name] = link


def document_with_links() -> dict[str, Any]:
    """The published document plus the links Schemathesis cannot infer (they carry request bodies)."""
    document = copy.deepcopy(app.openapi())
    login, refresh, logout = (_operation_ref(f"{API}/auth/{name}", "post") for name in ("login", "refresh", "logout"))
    credentials = {"email": "$request.body#/email", "password": "$request.body#/password"}
    new_refresh_token = {"refresh_token": "$response.body#/refresh_token"}
    _link(document, ("/users", "post", "201"), "LogIn", {"operationRef": login, "requestBody": credentials})
    _link(
        document, ("/auth/login", "post", "200"), "Refresh", {"operationRef": refresh, "requestBody": new_refresh_token}
    )
    _link(
        document, ("/auth/login", "post", "200"), "LogOut", {"operationRef": logout, "requestBody": new_refresh_token}
    )
    _link(
        document,
        ("/auth/refresh", "post", "200"),
        "RefreshAgain",
        {"operationRef": refresh, "requestBody": new_refresh_token},
    )
    _link(
        document,
        ("/auth/refresh", "post", "200"),
        "ReuseRotated",
        {"operationRef": refresh, "requestBody": {"refresh_token": "$request.body#/refresh_token"}},
    )
    _link(
        document,
        ("/users/me", "get", "200"),
        "UpdateMe",
        {
            "operationRef": _operation_ref(f"{API}/users/{{user_id}}", "patch"),
            "parameters": {"path.user_id": "$response.body#/id"},
        },
    )
    me = ("/users/me", "get", "200")
    _link(document, me, "LogOutThisSession", {"operationRef": logout, "requestBody": {}})
    notify = _operation_ref(f"{API}/send-notification", "post")
    _link(
        document,
        me,
        "Notify",
        {"operationRef": notify, "requestBody": {"subject": "Hello", "message": "$response.body#/username"}},
    )
    return document


def fuzz_schema() -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(document_with_links(), config=schemathesis.Config.from_dict(FUZZ_CONFIG))


def _secured_operations(document: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation.get("security")
    }


class _Tables:
    """This worker's tables, emptied from a loop of their own (the test's thread runs none)."""

    def __init__(self, portal: BlockingPortal, database_url: str) -> None:
        self._portal = portal
        self._engine = create_async_engine(database_url, pool_size=1)

    def empty(self, *, with_user: bool) -> int | None:
        """Empty every table (ids restart); then, ``with_user``, add one user and return its id."""
        return self._portal.call(partial(self._empty, with_user=with_user))

    async def _empty(self, *, with_user: bool) -> int | None:
        async with self._engine.begin() as connection:
            await connection.execute(TRUNCATE_ALL_TABLES)
        if not with_user:
            return None
        async with AsyncSession(self._engine) as session:
            return (await UserFactory.create(session)).id

    def close(self) -> None:
        self._portal.call(self._engine.dispose)


@dataclass
class FuzzTarget:
    """The app served over HTTP, the user whose access token is sent, and what each operation answered."""

    application: FastAPI
    base_url: str
    session: requests.Session
    tables: _Tables
    user_id: int = 0
    secured: set[str] = field(default_factory=lambda: _secured_operations(app.openapi()))

    def reset(self) -> None:
        """Empty tables, one user (id 1), a fresh login throttle and rate limits: every scenario
        starts the same."""
        user_id = self.tables.empty(with_user=True)
        assert user_id is not None
        self.user_id = user_id
        self.application.state.login_throttle = build_login_throttle(get_settings(), None)
        self.application.state.rate_limits = build_rate_limits(get_settings(), None)

    def call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        """Where to send ``case``; a fresh valid access token when the operation takes one."""
        headers = {}
        if case.operation.label in self.secured:
            headers["Authorization"] = f"Bearer {create_access_token({'sub': str(self.user_id)})}"
        return {"base_url": self.base_url, "session": self.session, "headers": headers}

    def call_and_validate(self, case: schemathesis.Case) -> None:
        case.call_and_validate(**self.call_kwargs(case))


@contextmanager
def running_target(database_url: str) -> Iterator[FuzzTarget]:
    """A fresh app (fresh throttle) over real HTTP on an empty database with one user; emptied after."""
    application = create_app()
    with (
        start_blocking_portal() as portal,
        serve_in_thread(application) as base_url,
        requests.Session() as http,
    ):
        tables = _Tables(portal, database_url)
        target = FuzzTarget(application, base_url, http, tables)
        try:
            target.reset()
            yield target
        finally:
            tables.empty(with_user=False)
            tables.close()


def run_workflows(schema: schemathesis.BaseSchema, target: FuzzTarget, run_settings: settings) -> None:
    """Run Schemathesis' state machine of ``schema`` (its links) against ``target``.

    Each scenario starts from the same state, so the values links carry from one response to the
    next request are the same on every run: Hypothesis requires that of its data generation.
    """
    base = schema.as_state_machine()

    class Workflows(base):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            target.reset()

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return target.call_kwargs(case)

    Workflows.run(settings=run_settings)
