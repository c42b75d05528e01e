"""The ``client`` fixture runs the request boundary as production does (a savepoint a request).

Each request's session commits or rolls back its own savepoint exactly as ``get_db`` commits or
rolls back the real transaction, while the test's outer transaction still isolates the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.api.deps import SessionDep
from app.exceptions import PermissionDeniedError
from app.main import create_app
from app.models.user import User
from servicekit.testing.app_client import app_client
from tests.conftest import PASSWORD
from tests.factories import UserFactory, unique_email, unique_username

WRITE_THEN_REFUSE = "/test/write-then-refuse"
WRITE_THEN_CRASH = "/test/write-then-crash"


def app_that_writes_then_fails(email: str) -> FastAPI:
    """The service plus two routes that add a user through the request's session, then fail."""
    application = create_app()

    async def add_user(session: SessionDep) -> None:
        session.add(UserFactory.build(email=email))
        await session.flush()

    @application.post(WRITE_THEN_REFUSE)
    async def write_then_refuse(session: SessionDep) -> None:
        await add_user(session)
        raise PermissionDeniedError

    @application.post(WRITE_THEN_CRASH)
    async def write_then_crash(session: SessionDep) -> None:
        await add_user(session)
        msg = "a bug after the write"
        raise RuntimeError(msg)

    return application


async def users_with_email(session_or_connection: AsyncSession | AsyncConnection, email: str) -> int:
    query = select(func.count()).select_from(User).where(User.email == email)
    return int(await session_or_connection.scalar(query) or 0)


@pytest.fixture
def email() -> str:
    return unique_email()


@pytest.fixture
async def failing_client(db_connection: AsyncConnection, email: str) -> AsyncIterator[AsyncClient]:
    async with app_client(app_that_writes_then_fails(email), db_connection) as test_client:
        yield test_client


@pytest.mark.integration
class TestRequestBoundaryInTests:
    async def test_a_refused_request_leaves_nothing_behind(
        self, failing_client: AsyncClient, db_session: AsyncSession, email: str
    ) -> None:
        response = await failing_client.post(WRITE_THEN_REFUSE)

        assert response.status_code == 403
        assert await users_with_email(db_session, email) == 0

    async def test_a_crashed_request_leaves_nothing_behind(
        self, failing_client: AsyncClient, db_session: AsyncSession, email: str
    ) -> None:
        with pytest.raises(RuntimeError, match="a bug after the write"):
            await failing_client.post(WRITE_THEN_CRASH)

        assert await users_with_email(db_session, email) == 0

    async def test_a_failed_request_keeps_what_earlier_requests_committed(
        self, failing_client: AsyncClient, db_session: AsyncSession
    ) -> None:
        payload = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}
        created = await failing_client.post("/api/v1/users", json=payload)

        refused = await failing_client.post(WRITE_THEN_REFUSE)

        assert (created.status_code, refused.status_code) == (201, 403)
        assert await users_with_email(db_session, payload["email"]) == 1

    async def test_a_committed_write_is_visible_to_the_next_request(self, client: AsyncClient) -> None:
        payload = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}

        created = await client.post("/api/v1/users", json=payload)
        profile = await client.get(f"/api/v1/users/{created.json()['id']}")
        login = await client.post("/api/v1/auth/login", json={"email": payload["email"], "password": PASSWORD})

        assert (created.status_code, profile.status_code, login.status_code) == (201, 200, 200)
        assert profile.json()["email"] == payload["email"]

    async def test_the_test_sees_what_a_request_committed(self, client: AsyncClient, db_session: AsyncSession) -> None:
        payload = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}

        await client.post("/api/v1/users", json=payload)

        assert await users_with_email(db_session, payload["email"]) == 1

    async def test_the_outer_transaction_still_isolates_the_test(
        self, client: AsyncClient, test_engine: AsyncEngine
    ) -> None:
        payload = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}

        created = await client.post("/api/v1/users", json=payload)

        assert created.status_code == 201
        async with test_engine.connect() as another_connection:
            assert await users_with_email(another_connection, payload["email"]) == 0
