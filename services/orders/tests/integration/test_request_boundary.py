"""The request boundary, error bodies, middleware and health, on the real app and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated

import asyncpg
import pytest
from fastapi import Depends
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import SessionDep
from app.config import Settings, get_settings
from app.database import get_db, get_read_db
from app.main import app, create_app
from app.models.order import Order
from app.repositories.order_repository import OrderRepository
from servicekit.testing.app_client import running_app_client, share_session
from tests.support.orders import ORDERS, TWO_BOOKS
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.integration


class _BoomError(Exception):
    pass


async def _write(session: SessionDep) -> None:
    await OrderRepository(session).insert_order(1, Decimal(0), None, "f" * 64)


_Written = Annotated[None, Depends(_write)]


@pytest.fixture
async def writing_client(db_session: AsyncSession, users_service: FakeUsersService) -> AsyncIterator[AsyncClient]:
    """An app with two extra routes: one writes and succeeds, one writes and then raises."""
    application = create_app()

    @application.post("/writes")
    async def writes(_written: _Written) -> None:
        return None

    @application.post("/writes-then-fails")
    async def writes_then_fails(_written: _Written) -> None:
        raise _BoomError

    share_session(application, db_session, get_db=get_db, get_read_db=get_read_db)
    async with running_app_client(application, raise_app_exceptions=False) as client:
        yield client


async def orders_count(db_session: AsyncSession) -> int:
    return int((await db_session.execute(select(func.count()).select_from(Order))).scalar_one())


async def test_a_handler_that_raises_after_a_write_leaves_nothing(
    writing_client: AsyncClient, db_session: AsyncSession
) -> None:
    response = await writing_client.post("/writes-then-fails")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert await orders_count(db_session) == 0


async def test_a_committed_write_is_seen_by_the_next_request(
    writing_client: AsyncClient, db_session: AsyncSession
) -> None:
    await writing_client.post("/writes")
    await writing_client.post("/writes-then-fails")

    assert await orders_count(db_session) == 1


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
    async with running_app_client(app) as client:
        response = await client.get("/api/v1/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "failed"}}


async def test_a_database_that_is_down_is_503_not_500(
    mock_settings: Settings, closed_port: int, users_service: FakeUsersService
) -> None:
    _, token = users_service.add_user()
    mock_settings.database_url = f"postgresql://postgres@127.0.0.1:{closed_port}/orders"
    async with running_app_client(app) as client:
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
    from httpx import ASGITransport  # noqa: PLC0415 - only this test talks to a bare app

    application = create_app()

    @application.get("/raises")
    async def raises() -> None:
        raise error

    transport = ASGITransport(app=application, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as bare:
        response = await bare.get("/raises", headers={"X-Request-ID": "abc-1"})

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
