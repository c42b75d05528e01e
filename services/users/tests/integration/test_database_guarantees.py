"""The database promises of the README's guarantees that no other test pinned down: any
PostgreSQL URL form, a constraint violation is a 409, timeouts are a 503, and the request boundary
(a 2xx means committed before the response is sent; any error rolls back).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.exceptions import ConflictError
from app.main import create_app
from app.models.user import User
from servicekit.db_errors import sqlstate
from tests.factories import unique_email, unique_username
from tests.support.app_client import response_when_a_route_raises
from tests.support.auth import without_request_id
from tests.support.configured import assert_unavailable, configured_app, registration

USERS = "/api/v1/users"
READY = "/api/v1/health/ready"

#: A request of the service's own pool waiting for a lock (``application_name`` is set by the engine).
_BLOCKED_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'users-service' AND wait_event_type = 'Lock'"
)


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
        while True:
            blocked = await watcher.scalar(_BLOCKED_ON_A_LOCK)
            await watcher.rollback()  # a transaction per poll: PostgreSQL snapshots pg_stat_activity per transaction
            if blocked:
                return
            if time.monotonic() > deadline:
                msg = f"no request of the service waited on the lock within {deadline_seconds}s"
                raise TimeoutError(msg)
            await asyncio.sleep(0.01)  # the poll interval


@pytest.mark.integration
class TestDatabaseTimeouts:
    """A database that does not answer in time gives 503 with Retry-After, not a hung request."""

    async def test_a_statement_cancelled_by_the_servers_statement_timeout(self, test_engine: AsyncEngine) -> None:
        """A ``statement_timeout`` set by the operator (on the role or database) cancels on the server."""
        async with test_engine.connect() as connection, connection.begin():
            await connection.execute(text("SET LOCAL statement_timeout = '10ms'"))
            with pytest.raises(DBAPIError) as cancelled:
                await connection.execute(text("SELECT pg_sleep(5)"))

        response = await response_when_a_route_raises(cancelled.value)

        assert sqlstate(cancelled.value) == "57014"  # query_canceled
        assert_unavailable(response)

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
