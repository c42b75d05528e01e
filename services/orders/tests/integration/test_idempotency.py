"""Idempotency-Key: a repeat is the same order, another body is 422, concurrency makes one order."""

from __future__ import annotations

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models.order import Order
from tests.support.orders import ORDERS, TWO_BOOKS, place_order
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.integration

Caller = tuple[int, dict[str, str]]
OTHER_BODY = {"items": [{"sku": "BOOK-2", "quantity": 1, "unit_price": "5.00"}]}


async def orders_in(session_or_engine: AsyncSession | AsyncEngine) -> int:
    statement = select(func.count()).select_from(Order)
    if isinstance(session_or_engine, AsyncSession):
        return int((await session_or_engine.execute(statement)).scalar_one())
    async with session_or_engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def test_a_repeat_answers_the_same_order_as_it_is_now(
    client: AsyncClient, caller: Caller, db_session: AsyncSession
) -> None:
    first = await place_order(client, caller[1], key="order-1")
    await client.post(f"{ORDERS}/{first['id']}/cancel", headers=caller[1])

    repeat = await client.post(ORDERS, json=TWO_BOOKS, headers={**caller[1], "Idempotency-Key": "order-1"})

    assert repeat.status_code == 202
    assert repeat.json()["id"] == first["id"]
    assert repeat.json()["status"] == "cancelled"
    assert await orders_in(db_session) == 1


async def test_the_same_value_written_differently_is_the_same_body(client: AsyncClient, caller: Caller) -> None:
    first = await place_order(client, caller[1], key="k")
    same = {"items": [{"unit_price": 9.99, "quantity": 2, "sku": "BOOK-1"}]}

    repeat = await client.post(ORDERS, json=same, headers={**caller[1], "Idempotency-Key": "k"})

    assert repeat.json()["id"] == first["id"]


async def test_the_same_key_with_another_body_is_422(
    client: AsyncClient, caller: Caller, db_session: AsyncSession
) -> None:
    await place_order(client, caller[1], key="order-1")

    response = await client.post(ORDERS, json=OTHER_BODY, headers={**caller[1], "Idempotency-Key": "order-1"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert await orders_in(db_session) == 1


async def test_keys_are_scoped_to_the_caller(
    client: AsyncClient, caller: Caller, users_service: FakeUsersService
) -> None:
    mine = await place_order(client, caller[1], key="shared")
    _, other_token = users_service.add_user()

    theirs = await place_order(client, users_service.headers(other_token), key="shared")

    assert theirs["id"] != mine["id"]


async def test_another_key_with_the_same_body_is_another_order(client: AsyncClient, caller: Caller) -> None:
    """Two identical purchases, each with its own key (two books bought twice on purpose)."""
    first = await place_order(client, caller[1], key="monday")
    second = await place_order(client, caller[1], key="tuesday")

    assert first["id"] != second["id"]


async def test_without_a_key_every_request_is_a_new_order(client: AsyncClient, caller: Caller) -> None:
    first = await place_order(client, caller[1])
    second = await place_order(client, caller[1])

    assert first["id"] != second["id"]


async def test_a_failed_request_does_not_use_up_its_key(
    client: AsyncClient, caller: Caller, users_service: FakeUsersService
) -> None:
    users_service.failing_with = 503
    failed = await client.post(ORDERS, json=TWO_BOOKS, headers={**caller[1], "Idempotency-Key": "retry-me"})
    users_service.failing_with = None
    invalid = await client.post(ORDERS, json={"items": []}, headers={**caller[1], "Idempotency-Key": "retry-me"})

    placed = await client.post(ORDERS, json=OTHER_BODY, headers={**caller[1], "Idempotency-Key": "retry-me"})

    assert (failed.status_code, invalid.status_code, placed.status_code) == (503, 422, 202)


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there", "é"])
async def test_a_malformed_key_is_422(client: AsyncClient, caller: Caller, key: str) -> None:
    headers: dict[str, str | bytes] = {**caller[1], "Idempotency-Key": key.encode()}

    response = await client.post(ORDERS, json=TWO_BOOKS, headers=headers)

    assert response.status_code == 422


async def test_the_longest_key_is_accepted(client: AsyncClient, caller: Caller) -> None:
    await place_order(client, caller[1], key="~" * 255)


async def test_concurrent_requests_with_one_key_create_exactly_one_order(
    live_client: AsyncClient, caller: Caller, test_engine: AsyncEngine
) -> None:
    headers = {**caller[1], "Idempotency-Key": "concurrent"}

    responses = await asyncio.gather(*(live_client.post(ORDERS, json=TWO_BOOKS, headers=headers) for _ in range(8)))

    assert [response.status_code for response in responses] == [202] * 8
    assert len({response.json()["id"] for response in responses}) == 1
    assert await orders_in(test_engine) == 1
