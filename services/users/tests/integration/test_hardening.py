"""Findings of the adversarial review, each pinned by a test: bad input, database faults, leaks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.database import APPLICATION_NAME, create_engine
from app.main import app, create_app
from app.models.user import User
from tests.conftest import PASSWORD, TEST_SECRET_KEY
from tests.factories import unique_email, unique_username
from tests.support.app_client import response_when_a_route_raises
from tests.support.auth import without_request_id

LONE_SURROGATE = "abc\ud800defgh"


async def post_escaped(client: AsyncClient, path: str, body: dict[str, Any], **kwargs: Any) -> Response:
    """POST ``body`` as ASCII JSON, so a lone surrogate travels as the escape ``\\ud800``."""
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return await client.post(path, content=json.dumps(body), headers=headers, **kwargs)


@pytest.mark.integration
class TestLoneSurrogates:
    async def test_registration_password(self, client: AsyncClient) -> None:
        body = {"email": unique_email(), "username": unique_username(), "password": LONE_SURROGATE}

        response = await post_escaped(client, "/api/v1/users", body)

        assert response.status_code == 422

    async def test_login_password(self, client: AsyncClient, user: User) -> None:
        response = await post_escaped(client, "/api/v1/auth/login", {"email": user.email, "password": LONE_SURROGATE})

        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    async def test_login_answers_the_same_for_known_and_unknown_emails(self, client: AsyncClient, user: User) -> None:
        """Valid input (an escaped surrogate *pair* is one character), so both requests reach the lookup."""
        wrong_password = "wrong-\U0001f600-password"  # travels as the escapes \ud83d\ude00
        known = await post_escaped(client, "/api/v1/auth/login", {"email": user.email, "password": wrong_password})
        unknown = await post_escaped(
            client, "/api/v1/auth/login", {"email": unique_email(), "password": wrong_password}
        )

        assert known.status_code == unknown.status_code == 401
        assert without_request_id(known) == without_request_id(unknown)
        assert without_request_id(known)["code"] == "invalid_credentials"
        assert known.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"] == "Bearer"

    async def test_post_title(self, client: AsyncClient, auth_headers: dict[str, str]) -> None:
        response = await post_escaped(
            client, "/api/v1/posts", {"title": "x\ud800", "content": "body"}, headers=auth_headers
        )

        assert response.status_code == 422


@pytest.mark.integration
class TestNotificationSubject:
    @pytest.mark.parametrize(
        "subject",
        [
            "=?utf-8?q?Alert=0D=0AReply-To:_evil@example.com?=",
            "line\u2028separator",
            "tab\there",
            "bell\x07",
        ],
        ids=["encoded-word", "line-separator", "tab", "control"],
    )
    async def test_refuses_what_could_become_a_header(
        self, client: AsyncClient, auth_headers: dict[str, str], subject: str
    ) -> None:
        response = await client.post("/api/v1/send-notification", json={"subject": subject}, headers=auth_headers)

        assert response.status_code == 422

    async def test_accepts_ordinary_unicode(self, client: AsyncClient, auth_headers: dict[str, str]) -> None:
        response = await client.post(
            "/api/v1/send-notification", json={"subject": "Grüße, 你好 — déjà vu"}, headers=auth_headers
        )

        assert response.status_code == 200


@pytest.mark.integration
class TestStrictIds:
    @pytest.mark.parametrize("raw", ["1.0", "+1", "%201", "1_0", "0x1", "\uff11"])
    async def test_only_decimal_digits_are_ids(self, client: AsyncClient, user: User, raw: str) -> None:
        response = await client.get(f"/api/v1/users/{raw}")

        assert response.status_code == 422


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", None, _DriverError(sqlstate))


@pytest.mark.integration
class TestDatabaseErrorMeaning:
    @pytest.mark.parametrize(
        ("error", "status", "code"),
        [
            (
                asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
                503,
                "service_unavailable",
            ),
            (asyncpg.exceptions.AdminShutdownError("terminating connection"), 503, "service_unavailable"),
            (_wrapped("57P01"), 503, "service_unavailable"),
            (_wrapped("53300"), 503, "service_unavailable"),
            (asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), 409, "conflict"),
            (_wrapped("40001"), 409, "conflict"),
            (asyncpg.exceptions.DivisionByZeroError("division by zero"), 500, "internal_error"),
            (_wrapped("42P01"), 500, "internal_error"),
        ],
        ids=[
            "starting-up",
            "shutdown",
            "wrapped-shutdown",
            "too-many-connections",
            "deadlock",
            "serialization",
            "bug",
            "wrapped-bug",
        ],
    )
    async def test_status_follows_the_sqlstate(self, error: Exception, status: int, code: str) -> None:
        response = await response_when_a_route_raises(error)

        assert response.status_code == status
        assert response.json()["code"] == code


@pytest.mark.integration
async def test_the_read_side_recovers_after_its_connections_are_killed(
    live_client: AsyncClient, test_engine: AsyncEngine
) -> None:
    created = await live_client.post(
        "/api/v1/users", json={"email": unique_email(), "username": unique_username(), "password": PASSWORD}
    )
    path = f"/api/v1/users/{created.json()['id']}"
    # Concurrent reads fill the pool with several connections, all of which the kill makes dead.
    warm_up = await asyncio.gather(*(live_client.get(path) for _ in range(5)))
    assert [response.status_code for response in warm_up] == [200] * 5
    assert app.state.engine.pool.checkedin() > 1
    async with test_engine.connect() as admin:
        # With a timeout, pg_terminate_backend returns once the backend has really exited.
        terminated = await admin.scalars(
            text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        assert all(terminated.all())

    first = await live_client.get(path)
    second = await live_client.get(path)

    assert first.status_code == 503  # the pooled connection it was handed is dead
    assert first.json()["code"] == "service_unavailable"
    assert first.headers["Retry-After"] == "5"
    assert second.status_code == 200  # the dead pool was replaced: no second failure


@pytest.mark.integration
async def test_email_with_a_dotted_capital_i_logs_in_as_typed(client: AsyncClient) -> None:
    email = f"\u0130{unique_username()}@example.com"
    registered = await client.post(
        "/api/v1/users", json={"email": email, "username": unique_username(), "password": PASSWORD}
    )

    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})

    assert registered.status_code == 201
    assert response.status_code == 200


@pytest.mark.integration
async def test_personal_data_is_not_cached(client: AsyncClient, auth_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/users/me", headers=auth_headers)

    assert response.headers["cache-control"] == "no-store"


def _production(**overrides: Any) -> Settings:
    return Settings(environment="production", secret_key=TEST_SECRET_KEY, **overrides)


@pytest.mark.integration
class TestProductionDefaults:
    async def test_docs_are_off_unless_asked_for(self) -> None:
        apps: list[FastAPI] = [create_app(_production()), create_app(_production(docs_enabled=True))]
        statuses = []
        for application in apps:
            async with AsyncClient(transport=ASGITransport(app=application), base_url="http://test") as raw:
                statuses.append((await raw.get("/openapi.json")).status_code)

        assert statuses == [404, 200]

    async def test_sql_parameters_stay_out_of_errors_and_logs(self, database_url: str) -> None:
        engine = create_engine(_production(database_url=database_url), application_name=APPLICATION_NAME)
        try:
            with pytest.raises(DBAPIError) as raised:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1 / :zero"), {"zero": 0})
        finally:
            await engine.dispose()

        assert "[SQL parameters hidden" in str(raised.value)
