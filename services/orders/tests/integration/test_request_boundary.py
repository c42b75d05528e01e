"""Error bodies, middleware and health, on the real app and database (the request boundary:
``test_client_fixture.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from httpx import AsyncClient
from sqlalchemy.exc import IntegrityError, OperationalError

from app.config import Settings, get_settings
from app.main import app, create_app
from servicekit.testing.app_client import app_client, response_when_a_route_raises
from tests.support.orders import ORDERS, TWO_BOOKS
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.integration


async def test_health_live_and_ready(client: AsyncClient, users_service: FakeUsersService) -> None:
    users_service.failing_with = 503

    live = await client.get("/api/v1/health/live")
    ready = await client.get("/api/v1/health/ready")

    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "checks": {"database": "ok"}})


async def test_ready_is_503_when_its_database_is_down(
    mock_settings: Settings, closed_port: int, users_service: FakeUsersService
) -> None:
    mock_settings.database_url = f"postgresql://postgres@127.0.0.1:{closed_port}/orders"
    async with app_client(app) as client:
        response = await client.get("/api/v1/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "failed"}}


async def test_a_database_that_is_down_is_503_not_500(
    mock_settings: Settings, closed_port: int, users_service: FakeUsersService
) -> None:
    _, token = users_service.add_user()
    mock_settings.database_url = f"postgresql://postgres@127.0.0.1:{closed_port}/orders"
    async with app_client(app) as client:
        response = await client.get(ORDERS, headers=users_service.headers(token))

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


class _PgError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.sqlstate = code


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (IntegrityError("INSERT", None, _PgError("23505")), 409, "conflict"),
        (OperationalError("SELECT", None, _PgError("08006")), 503, "service_unavailable"),
        (asyncpg.exceptions.SerializationError("could not serialize"), 409, "conflict"),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), 503, "service_unavailable"),
        (asyncpg.exceptions.UndefinedTableError("no table"), 500, "internal_error"),
        (ConnectionResetError(), 503, "service_unavailable"),
        (RuntimeError("bug"), 500, "internal_error"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
async def test_errors_become_stable_bodies(error: Exception, status: int, code: str) -> None:
    response = await response_when_a_route_raises(create_app(), error, {"X-Request-ID": "abc-1"})

    assert response.status_code == status
    assert response.json() == {"detail": response.json()["detail"], "code": code, "request_id": "abc-1"}
    assert "bug" not in response.text


async def test_every_response_has_a_request_id_and_security_headers(client: AsyncClient) -> None:
    response = await client.get("/api/v1/health/live", headers={"X-Request-ID": "bad id with spaces"})

    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


async def test_an_oversized_body_is_413_before_the_users_service_is_asked(
    client: AsyncClient, caller: tuple[int, dict[str, str]], users_service: FakeUsersService
) -> None:
    calls = users_service.me_route.call_count
    huge = b'{"items": [' + b" " * get_settings().max_body_bytes + b"]}"

    declared = await client.post(ORDERS, content=huge, headers={**caller[1], "Content-Type": "application/json"})

    async def streamed_chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield huge[: len(huge) // 2]

    streamed = await client.post(ORDERS, content=streamed_chunks(), headers=caller[1])

    assert (declared.status_code, declared.json()["code"]) == (413, "payload_too_large")
    assert (streamed.status_code, streamed.json()["code"]) == (413, "payload_too_large")
    assert users_service.me_route.call_count == calls


async def test_not_json_is_422_and_unknown_method_405(client: AsyncClient, caller: tuple[int, dict[str, str]]) -> None:
    not_json = await client.post(ORDERS, content=b"{", headers={**caller[1], "Content-Type": "application/json"})
    wrong_method = await client.delete(ORDERS, headers=caller[1])

    assert (not_json.status_code, not_json.json()["code"]) == (422, "validation_error")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")


async def test_the_order_placed_is_readable_afterwards(client: AsyncClient, caller: tuple[int, dict[str, str]]) -> None:
    placed = await client.post(ORDERS, json=TWO_BOOKS, headers=caller[1])

    assert (await client.get(f"{ORDERS}/{placed.json()['id']}", headers=caller[1])).json() == placed.json()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("OPTIONS", ORDERS, "GET, POST"), ("DELETE", f"{ORDERS}/1", "GET"), ("GET", f"{ORDERS}/1/cancel", "POST")],
)
async def test_405_allows_every_method_of_the_path(client: AsyncClient, method: str, path: str, allowed: str) -> None:
    # Not only the methods of the first route that matched the path (Starlette's answer).
    response = await client.request(method, path)

    assert response.status_code == 405
    assert response.headers["Allow"] == allowed


async def test_a_body_that_is_not_utf8_is_400(client: AsyncClient, caller: tuple[int, dict[str, str]]) -> None:
    response = await client.post(
        ORDERS, content=b'{"items": "\xff"}', headers={**caller[1], "Content-Type": "application/json"}
    )

    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
