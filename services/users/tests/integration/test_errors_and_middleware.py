"""Error bodies, request ids, body size limits, unexpected errors, outages and health probes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.main import create_app
from app.models.user import User
from servicekit.testing.app_client import app_client
from tests.factories import unique_email, unique_username
from tests.support.app_client import response_when_a_route_raises

MAX_BODY = 1024 * 1024
GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


async def users_with_email(db_session: AsyncSession, email: str) -> int:
    statement = select(func.count()).select_from(User).where(func.lower(User.email) == email.lower())
    return int(await db_session.scalar(statement) or 0)


def padded_registration(email: str, total_size: int) -> bytes:
    """A valid registration, padded with JSON whitespace to ``total_size`` bytes."""
    body = json.dumps({"email": email, "username": unique_username(), "password": "SecurePass123!"}).encode()
    return body + b" " * (total_size - len(body))


async def in_chunks(payload: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


@pytest.mark.integration
class TestErrorBodies:
    async def test_unknown_route_is_404_not_found(self, client: AsyncClient) -> None:
        response = await client.get("/api/v1/no-such-route")

        assert response.status_code == 404
        body = response.json()
        assert body["code"] == "not_found"
        assert body["request_id"] == response.headers["x-request-id"]

    async def test_wrong_method_is_405_method_not_allowed(self, client: AsyncClient) -> None:
        response = await client.delete("/api/v1/users")

        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"
        assert "POST" in response.headers["allow"]

    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [("OPTIONS", "/api/v1/posts", "GET, POST"), ("PUT", "/api/v1/users/1", "GET, PATCH")],
    )
    async def test_405_allows_every_method_of_the_path(
        self, client: AsyncClient, method: str, path: str, allowed: str
    ) -> None:
        # Not only the methods of the first route that matched the path (Starlette's answer).
        response = await client.request(method, path)

        assert response.status_code == 405
        assert response.headers["allow"] == allowed

    async def test_a_body_that_is_not_utf8_is_400(self, client: AsyncClient) -> None:
        response = await client.post(
            "/api/v1/users", content=b'{"email": "\xff"}', headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"

    async def test_malformed_json_is_422(self, client: AsyncClient) -> None:
        response = await client.post(
            "/api/v1/users", content=b'{"email": "a@example.com",', headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/api/v1/users", {"email": "x@example.com", "username": "someone", "password": "p" * 129}),
            ("/api/v1/users", {"email": "not-an-email", "username": "someone", "password": "p" * 129}),
            ("/api/v1/users", {"email": "x@example.com", "username": "someone", "password": "p\x00" * 10}),
            ("/api/v1/users", {"email": "x@example.com", "username": "someone", "password": "p" * 12, "x": 1}),
            ("/api/v1/auth/login", {"email": "x@example.com", "password": "p" * 129}),
            ("/api/v1/auth/login", {"email": "bad", "password": "p" * 12}),
        ],
        ids=["too-long", "other-field-bad", "nul", "extra-field", "login-too-long", "login-bad-email"],
    )
    async def test_validation_errors_never_echo_the_password(
        self, client: AsyncClient, path: str, body: dict[str, object]
    ) -> None:
        marker = "Zq7SecretMarker"
        password = str(body["password"])
        body["password"] = marker + password[len(marker) :] if len(password) > len(marker) else marker + password

        response = await client.post(path, json=body)

        assert response.status_code == 422, response.text
        assert marker not in response.text
        assert all("input" not in error for error in response.json()["errors"])

    async def test_malformed_json_never_echoes_the_password(self, client: AsyncClient) -> None:
        marker = "Zq7SecretMarker-json"
        raw = f'{{"email": "a@example.com", "password": "{marker}", '.encode()

        response = await client.post("/api/v1/auth/login", content=raw, headers={"Content-Type": "application/json"})

        assert response.status_code == 422
        assert marker not in response.text


@pytest.mark.integration
class TestBodySizeLimit:
    async def test_declared_body_over_1_mib_is_413(self, client: AsyncClient, db_session: AsyncSession) -> None:
        email = unique_email()
        payload = padded_registration(email, MAX_BODY + 1)

        response = await client.post("/api/v1/users", content=payload, headers={"Content-Type": "application/json"})

        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert response.json()["request_id"] == response.headers["x-request-id"]
        assert await users_with_email(db_session, email) == 0

    async def test_declared_body_of_exactly_1_mib_is_served(self, client: AsyncClient) -> None:
        payload = padded_registration(unique_email(), MAX_BODY)

        response = await client.post("/api/v1/users", content=payload, headers={"Content-Type": "application/json"})

        assert response.status_code == 201

    async def test_streamed_body_over_1_mib_without_length_is_413(
        self, client: AsyncClient, db_session: AsyncSession
    ) -> None:
        email = unique_email()
        payload = padded_registration(email, MAX_BODY + 1)

        response = await client.post(
            "/api/v1/users", content=in_chunks(payload), headers={"Content-Type": "application/json"}
        )

        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert await users_with_email(db_session, email) == 0

    async def test_streamed_body_under_the_limit_is_served(self, client: AsyncClient) -> None:
        payload = padded_registration(unique_email(), MAX_BODY - 1)

        response = await client.post(
            "/api/v1/users", content=in_chunks(payload), headers={"Content-Type": "application/json"}
        )

        assert "content-length" not in response.request.headers
        assert response.status_code == 201

    async def test_invalid_content_length_is_refused_unread(self, client: AsyncClient) -> None:
        """A length that is not a number of bytes cannot be checked against the limit: refused up front."""
        response = await client.post(
            "/api/v1/users", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "-1"}
        )

        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"


@pytest.mark.integration
class TestRequestId:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/health/live"),
            ("GET", "/api/v1/nowhere"),
            ("POST", "/api/v1/users"),
            ("GET", "/health/live"),
        ],
    )
    async def test_every_response_carries_a_request_id(self, client: AsyncClient, method: str, path: str) -> None:
        response = await client.request(method, path, json={})

        assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])

    async def test_each_request_gets_its_own_id(self, client: AsyncClient) -> None:
        first = await client.get("/api/v1/health/live")
        second = await client.get("/api/v1/health/live")

        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    @pytest.mark.parametrize("incoming", ["abc-123.DEF_456", "a" * 64, "0"])
    async def test_a_safe_incoming_id_is_echoed(self, client: AsyncClient, incoming: str) -> None:
        response = await client.get("/api/v1/nowhere", headers={"X-Request-ID": incoming})

        assert response.headers["x-request-id"] == incoming
        assert response.json()["request_id"] == incoming

    @pytest.mark.parametrize("incoming", ["a" * 65, "has space", "<script>", "a;b=c", "id/../x", "é"])
    async def test_an_unsafe_incoming_id_is_replaced(self, client: AsyncClient, incoming: str) -> None:
        response = await client.get("/api/v1/health/live", headers={b"X-Request-ID": incoming.encode()})

        assert response.headers["x-request-id"] != incoming
        assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])


@pytest.mark.integration
class TestUnexpectedError:
    @pytest.fixture
    def failing_app(self) -> FastAPI:
        application = create_app()

        @application.get("/boom")
        async def boom() -> None:
            msg = "secret internal detail /etc/passwd"
            raise RuntimeError(msg)

        return application

    async def test_gives_a_generic_500_with_a_request_id(self, failing_app: FastAPI) -> None:
        transport = ASGITransport(app=failing_app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom", headers={"X-Request-ID": "trace-500"})

        assert response.status_code == 500
        assert response.json() == {
            "detail": "Internal server error",
            "code": "internal_error",
            "request_id": "trace-500",
        }
        assert response.headers["x-request-id"] == "trace-500"
        assert "Traceback" not in response.text
        assert "RuntimeError" not in response.text
        assert "secret internal detail" not in response.text

    @pytest.mark.parametrize(
        "error",
        [
            asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress"),
            FileNotFoundError(2, "No such file or directory"),
            TimeoutError(),
            asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        ],
        ids=["connection-lost", "driver-interface", "socket-gone", "timeout", "protocol-broken"],
    )
    async def test_a_lost_database_connection_is_a_503(self, error: Exception) -> None:
        response = await response_when_a_route_raises(error)

        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["retry-after"] == "5"

    async def test_generated_request_id_matches_header(self, failing_app: FastAPI) -> None:
        transport = ASGITransport(app=failing_app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom")

        assert response.status_code == 500
        assert GENERATED_REQUEST_ID.match(response.json()["request_id"])
        assert response.headers["x-request-id"] == response.json()["request_id"]


@pytest.fixture
async def outage_client(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> AsyncIterator[AsyncClient]:
    """A freshly built app whose database is unreachable."""
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/users")
    get_settings.cache_clear()
    try:
        async with app_client(create_app()) as client:
            yield client
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.mark.integration
class TestDatabaseOutage:
    async def test_a_read_gives_503(self, outage_client: AsyncClient) -> None:
        response = await outage_client.get("/api/v1/users/1")

        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["retry-after"].isdigit()
        assert "127.0.0.1" not in response.text

    async def test_a_login_gives_503(self, outage_client: AsyncClient) -> None:
        response = await outage_client.post(
            "/api/v1/auth/login", json={"email": "someone@example.com", "password": "SecurePass123!"}
        )

        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"

    async def test_readiness_fails_on_the_database(self, outage_client: AsyncClient) -> None:
        response = await outage_client.get("/api/v1/health/ready")

        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["checks"]["database"] == "failed"

    async def test_liveness_does_not_depend_on_the_database(self, outage_client: AsyncClient) -> None:
        response = await outage_client.get("/api/v1/health/live")

        assert response.status_code == 200


@pytest.mark.integration
class TestHealth:
    @pytest.mark.parametrize("path", ["/api/v1/health/live", "/health/live"])
    async def test_live(self, client: AsyncClient, path: str) -> None:
        response = await client.get(path)

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    @pytest.mark.parametrize("path", ["/api/v1/health/ready", "/health/ready"])
    async def test_ready_with_the_database_up(self, client: AsyncClient, path: str) -> None:
        response = await client.get(path)

        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["checks"]["database"] == "ok"
