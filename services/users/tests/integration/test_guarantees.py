"""Promises of the README's "What the users service guarantees" that no other test pinned down.

Each test here breaks when the line it names is broken: response headers, readiness of the
throttle store, ``postgres://`` URLs, constraint violations, database timeouts, commits before
the response, and password hashing off the event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from pwdlib import PasswordHash
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.config import get_settings
from app.exceptions import ConflictError
from app.main import create_app
from app.models.user import User
from app.utils import password as password_module
from tests.conftest import PASSWORD
from tests.factories import unique_email, unique_username
from tests.support.app_client import app_client, response_when_a_route_raises
from tests.support.auth import LOGIN, ME, without_request_id

USERS = "/api/v1/users"
READY = "/api/v1/health/ready"

#: A request of the service's own pool waiting for a lock (``application_name`` is set by the engine).
_BLOCKED_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'users-service' AND wait_event_type = 'Lock'"
)


@asynccontextmanager
async def configured_app(**environment: str) -> AsyncIterator[AsyncClient]:
    """A fresh app (its own engine, pool and throttle store) started with these settings."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            async with app_client(create_app()) as client:
                yield client
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def registration() -> dict[str, str]:
    return {"email": unique_email(), "username": unique_username(), "password": PASSWORD}


def assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


@pytest.mark.integration
class TestResponseHeaders:
    """Every response, success or error, is ``nosniff`` and ``no-store`` (tokens and personal data)."""

    @pytest.mark.parametrize(
        ("method", "path", "body", "status"),
        [
            ("GET", "/api/v1/health/live", None, 200),
            ("GET", "/health/ready", None, 200),
            ("POST", USERS, "registration", 201),
            ("GET", ME, None, 401),
            ("GET", "/api/v1/nowhere", None, 404),
            ("POST", USERS, {}, 422),
        ],
    )
    async def test_from_the_app(self, client: AsyncClient, method: str, path: str, body: Any, status: int) -> None:
        response = await client.request(method, path, json=registration() if body == "registration" else body)

        assert response.status_code == status
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]

    async def test_on_personal_data(self, client: AsyncClient, auth_headers: dict[str, str]) -> None:
        response = await client.get(ME, headers=auth_headers)

        assert response.status_code == 200
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]

    async def test_on_a_body_refused_before_the_app_runs(self, client: AsyncClient) -> None:
        headers = {"Content-Type": "application/json", "Content-Length": str(get_settings().max_body_bytes + 1)}

        response = await client.post(USERS, content=b"{}", headers=headers)

        assert response.status_code == 413
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]

    async def test_on_an_unexpected_error(self) -> None:
        response = await response_when_a_route_raises(RuntimeError("boom"))

        assert response.status_code == 500
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]


@pytest.mark.integration
class TestReadinessOfTheThrottleStore:
    async def test_a_throttle_store_that_is_down_makes_the_service_unready(self, closed_port: int) -> None:
        async with configured_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0") as client:
            response = await client.get(READY)

        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "throttle_store": "failed"}}

    async def test_a_throttle_store_that_answers_is_ready(self, redis_url: str) -> None:
        """The control: the same app with a Redis that answers."""
        async with configured_app(REDIS_URL=redis_url) as client:
            response = await client.get(READY)

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "throttle_store": "ok"}}

    async def test_a_login_while_the_throttle_store_is_down_is_a_503(self, closed_port: int) -> None:
        async with configured_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0") as client:
            response = await client.post(LOGIN, json={"email": unique_email(), "password": PASSWORD})

        assert_unavailable(response)


@pytest.mark.integration
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
async def test_the_service_runs_on_a_plain_postgres_url(database_url: str, scheme: str) -> None:
    """``DATABASE_URL`` as hosting platforms give it, without a driver: the service uses asyncpg."""
    plain_url = make_url(database_url).set(drivername=scheme).render_as_string(hide_password=False)

    async with configured_app(DATABASE_URL=plain_url) as client:
        ready = await client.get(READY)
        unknown_user = await client.get(f"{USERS}/1")

    assert ready.json()["checks"]["database"] == "ok"
    assert unknown_user.status_code == 404  # the query ran on the database


@pytest.mark.integration
async def test_a_constraint_violation_from_postgresql_is_a_409_without_internals(test_engine: AsyncEngine) -> None:
    """A violation no repository translated (a new constraint, a race) is a conflict, not a 500."""
    async with test_engine.connect() as connection:
        transaction = await connection.begin()
        insert = text("INSERT INTO users (email, username, hashed_password) VALUES ('same@example.com', :name, 'x')")
        await connection.execute(insert, {"name": "first"})
        with pytest.raises(IntegrityError) as violation:
            await connection.execute(insert.bindparams(name="second"))
        await transaction.rollback()

    response = await response_when_a_route_raises(violation.value)

    assert response.status_code == 409
    assert without_request_id(response) == {
        "detail": "The request conflicts with existing data",
        "code": "conflict",
    }


@asynccontextmanager
async def users_table_locked(engine: AsyncEngine) -> AsyncIterator[None]:
    """Every query on ``users`` (reads too) waits until this ends: a database that does not answer."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            await connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
            yield
        finally:
            await transaction.rollback()


async def wait_until_a_request_waits_on_the_lock(engine: AsyncEngine, deadline_seconds: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    async with engine.connect() as watcher:
        while not await watcher.scalar(_BLOCKED_ON_A_LOCK):
            if time.monotonic() > deadline:
                msg = f"no request of the service waited on the lock within {deadline_seconds}s"
                raise TimeoutError(msg)
            await asyncio.sleep(0.01)  # the poll interval


@pytest.mark.integration
class TestDatabaseTimeouts:
    """A database that does not answer in time gives 503 with Retry-After, not a hung request."""

    async def test_a_read_past_the_command_timeout(self, test_engine: AsyncEngine) -> None:
        async with configured_app(DB_COMMAND_TIMEOUT_SECONDS="0.5") as client, users_table_locked(test_engine):
            response = await client.get(f"{USERS}/1")

        assert_unavailable(response)

    async def test_a_write_past_the_command_timeout(self, test_engine: AsyncEngine) -> None:
        async with configured_app(DB_COMMAND_TIMEOUT_SECONDS="0.5") as client, users_table_locked(test_engine):
            response = await client.post(USERS, json=registration())

        assert_unavailable(response)

    async def test_a_request_that_waits_for_a_pooled_connection_past_the_pool_timeout(
        self, test_engine: AsyncEngine
    ) -> None:
        settings = {"DB_POOL_SIZE": "1", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT_SECONDS": "0.5"}
        async with configured_app(**settings) as client:
            async with users_table_locked(test_engine):
                holding_the_only_connection = asyncio.create_task(client.get(f"{USERS}/1"))
                await wait_until_a_request_waits_on_the_lock(test_engine)

                response = await client.get(f"{USERS}/1")

            first = await holding_the_only_connection

        assert_unavailable(response)
        assert first.status_code == 404  # served once the lock was gone: the timeout was the pool's


@asynccontextmanager
async def serving(application: FastAPI) -> AsyncIterator[AsyncClient]:
    """``application`` with its real sessions; an exception raised after the response was sent is
    not re-raised, so the client sees exactly what was sent."""
    async with LifespanManager(application) as manager:
        transport = ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def stored_users_with_email(engine: AsyncEngine, email: str) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).where(User.email == email)) or 0)


def app_that_writes_then(error: Exception | None) -> FastAPI:
    """The service with one more route: it adds a user through the request's session, then raises ``error``."""
    application = create_app()

    @application.post("/write-then-fail")
    async def write_then_fail(email: str, session: SessionDep) -> dict[str, str]:
        session.add(User(email=email, username=unique_username(), hashed_password="x"))
        await session.flush()
        if error is not None:
            raise error
        return {"email": email}

    return application


@pytest.mark.integration
class TestRequestBoundary:
    """A 2xx means committed before the response is sent; any error rolls back."""

    async def test_a_commit_that_fails_never_gives_a_2xx(self, test_engine: AsyncEngine) -> None:
        account = registration()

        def connection_lost_at_commit(session: Session) -> None:
            if not session.in_nested_transaction():  # the request's own transaction, not a savepoint
                raise OperationalError("COMMIT", {}, ConnectionResetError("connection reset during COMMIT"))

        async with serving(create_app()) as client:
            event.listen(Session, "before_commit", connection_lost_at_commit)
            try:
                response = await client.post(USERS, json=account)
            finally:
                event.remove(Session, "before_commit", connection_lost_at_commit)

        assert_unavailable(response)
        assert await stored_users_with_email(test_engine, account["email"]) == 0

    @pytest.mark.parametrize(
        ("error", "status"),
        [(ConflictError(), 409), (RuntimeError("a bug after the write"), 500)],
        ids=["domain-error", "unexpected-error"],
    )
    async def test_an_error_after_a_write_leaves_nothing_behind(
        self, test_engine: AsyncEngine, error: Exception, status: int
    ) -> None:
        email = unique_email()

        async with serving(app_that_writes_then(error)) as client:
            response = await client.post("/write-then-fail", params={"email": email})

        assert response.status_code == status
        assert await stored_users_with_email(test_engine, email) == 0

    async def test_the_control_a_write_without_error_is_kept(self, test_engine: AsyncEngine) -> None:
        email = unique_email()
        try:
            async with serving(app_that_writes_then(None)) as client:
                response = await client.post("/write-then-fail", params={"email": email})

            assert response.status_code == 200
            assert await stored_users_with_email(test_engine, email) == 1
        finally:
            async with test_engine.begin() as connection:
                await connection.execute(delete(User).where(User.email == email))


@pytest.mark.integration
class TestPasswordsKeptAsTyped:
    async def test_spaces_and_unicode_composition_are_part_of_the_password(self, client: AsyncClient) -> None:
        typed = "  Ame\u0301lie's pass 9  "  # leading and trailing spaces, a combining accent
        account = registration() | {"password": typed}
        assert (await client.post(USERS, json=account)).status_code == 201

        exact = await client.post(LOGIN, json={"email": account["email"], "password": typed})
        stripped = await client.post(LOGIN, json={"email": account["email"], "password": typed.strip()})
        composed = await client.post(
            LOGIN, json={"email": account["email"], "password": unicodedata.normalize("NFC", typed)}
        )

        assert exact.status_code == 200
        assert stripped.status_code == composed.status_code == 401


class ThreadRecordingHasher:
    """The service's ``PasswordHash``, recording which thread every argon2 computation runs on."""

    def __init__(self, inner: PasswordHash) -> None:
        self._inner = inner
        self.calls: list[tuple[str, int]] = []

    def hash(self, password: str) -> str:
        self.calls.append(("hash", threading.get_ident()))
        return self._inner.hash(password)

    def verify(self, password: str, hashed: str) -> bool:
        self.calls.append(("verify", threading.get_ident()))
        return self._inner.verify(password, hashed)

    @property
    def current_hasher(self) -> Any:
        return self._inner.current_hasher


@pytest.fixture
def recording_hasher(monkeypatch: pytest.MonkeyPatch) -> ThreadRecordingHasher:
    password_module.dummy_verify("warm-up")  # the dummy hash is made once per process, not per login
    recorder = ThreadRecordingHasher(password_module._password_hash())  # noqa: SLF001 - the seam under test
    monkeypatch.setattr(password_module, "_password_hash", lambda: recorder)
    return recorder


@pytest.mark.integration
class TestPasswordHashingOffTheEventLoop:
    async def test_registration_and_every_kind_of_login_hash_in_a_worker_thread(
        self, client: AsyncClient, recording_hasher: ThreadRecordingHasher
    ) -> None:
        account = registration()
        event_loop_thread = threading.get_ident()

        assert (await client.post(USERS, json=account)).status_code == 201
        assert (await client.post(LOGIN, json={"email": account["email"], "password": PASSWORD})).status_code == 200

        kinds = [kind for kind, _ in recording_hasher.calls]
        assert kinds[0] == "hash"
        assert "verify" in kinds
        assert event_loop_thread not in {thread for _, thread in recording_hasher.calls}

    async def test_an_unknown_email_costs_the_same_verification_as_a_wrong_password(
        self, client: AsyncClient, user: User, recording_hasher: ThreadRecordingHasher
    ) -> None:
        event_loop_thread = threading.get_ident()

        await client.post(LOGIN, json={"email": user.email, "password": "Wrong-password-123"})
        wrong_password = list(recording_hasher.calls)
        recording_hasher.calls.clear()
        await client.post(LOGIN, json={"email": unique_email(), "password": "Wrong-password-123"})
        unknown_email = list(recording_hasher.calls)

        assert [kind for kind, _ in unknown_email] == [kind for kind, _ in wrong_password] == ["verify"]
        assert event_loop_thread not in {thread for _, thread in wrong_password + unknown_email}
