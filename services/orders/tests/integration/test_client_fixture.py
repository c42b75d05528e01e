"""The ``client`` fixture runs the request boundary as production does (a savepoint a request).

Each request's session commits or rolls back its own savepoint exactly as ``get_db`` commits or
rolls back the real transaction, while the test's outer transaction still isolates the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.api.deps import SessionDep
from app.exceptions import OrderNotFoundError
from app.main import create_app
from app.models.order import Order
from app.repositories.order_repository import OrderRepository
from servicekit.testing.app_client import app_client
from tests.support.orders import ORDERS, place_order
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.integration

Caller = tuple[int, dict[str, str]]
WRITE_THEN_REFUSE = "/test/write-then-refuse"
WRITE_THEN_CRASH = "/test/write-then-crash"


async def _write(session: SessionDep) -> None:
    await OrderRepository(session).insert_order(1, Decimal(0), None, "f" * 64)


_Written = Annotated[None, Depends(_write)]


def app_that_writes_then_fails() -> FastAPI:
    """The service plus two routes that add an order through the request's session, then fail."""
    application = create_app()

    @application.post(WRITE_THEN_REFUSE)
    async def write_then_refuse(_written: _Written) -> None:
        raise OrderNotFoundError

    @application.post(WRITE_THEN_CRASH)
    async def write_then_crash(_written: _Written) -> None:
        msg = "a bug after the write"
        raise RuntimeError(msg)

    return application


async def orders_in(session_or_connection: AsyncSession | AsyncConnection) -> int:
    return int((await session_or_connection.execute(select(func.count()).select_from(Order))).scalar_one())


@pytest.fixture
async def failing_client(db_connection: AsyncConnection, users_service: FakeUsersService) -> AsyncIterator[AsyncClient]:
    async with app_client(app_that_writes_then_fails(), db_connection) as test_client:
        yield test_client


async def test_a_refused_request_leaves_nothing_behind(failing_client: AsyncClient, db_session: AsyncSession) -> None:
    response = await failing_client.post(WRITE_THEN_REFUSE)

    assert response.status_code == 404
    assert await orders_in(db_session) == 0


async def test_a_crashed_request_leaves_nothing_behind(failing_client: AsyncClient, db_session: AsyncSession) -> None:
    with pytest.raises(RuntimeError, match="a bug after the write"):
        await failing_client.post(WRITE_THEN_CRASH)

    assert await orders_in(db_session) == 0


async def test_a_failed_request_keeps_what_earlier_requests_committed(
    failing_client: AsyncClient, caller: Caller, db_session: AsyncSession
) -> None:
    await place_order(failing_client, caller[1])

    refused = await failing_client.post(WRITE_THEN_REFUSE)

    assert refused.status_code == 404
    assert await orders_in(db_session) == 1


async def test_a_committed_write_is_visible_to_the_next_request(client: AsyncClient, caller: Caller) -> None:
    placed = await place_order(client, caller[1])

    one = await client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])
    cancelled = await client.post(f"{ORDERS}/{placed['id']}/cancel", headers=caller[1])

    assert (one.status_code, cancelled.status_code) == (200, 200)
    assert cancelled.json()["status"] == "cancelled"


async def test_the_test_sees_what_a_request_committed(
    client: AsyncClient, caller: Caller, db_session: AsyncSession
) -> None:
    await place_order(client, caller[1])

    assert await orders_in(db_session) == 1


async def test_the_outer_transaction_still_isolates_the_test(
    client: AsyncClient, caller: Caller, test_engine: AsyncEngine
) -> None:
    await place_order(client, caller[1])

    async with test_engine.connect() as another_connection:
        assert await orders_in(another_connection) == 0
