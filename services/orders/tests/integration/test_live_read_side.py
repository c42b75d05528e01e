"""The read side on the engine (no session, no transaction), as in production, and its recovery."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.database import APPLICATION_NAME
from tests.support.orders import ORDERS, TWO_BOOKS, place_order

pytestmark = pytest.mark.integration

Caller = tuple[int, dict[str, str]]


async def test_committed_orders_are_read_without_a_transaction(live_client: AsyncClient, caller: Caller) -> None:
    placed = await place_order(live_client, caller[1])

    one = await live_client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])
    page = await live_client.get(ORDERS, headers=caller[1])

    assert one.json() == placed
    assert page.json()["items"] == [placed]


async def test_a_failed_request_rolls_its_transaction_back(live_client: AsyncClient, caller: Caller) -> None:
    await place_order(live_client, caller[1], key="k")
    other_body = {"items": [{"sku": "X", "quantity": 1, "unit_price": "1.00"}]}

    reused = await live_client.post(ORDERS, json=other_body, headers={**caller[1], "Idempotency-Key": "k"})
    after = await live_client.post(ORDERS, json=TWO_BOOKS, headers=caller[1])

    assert (reused.status_code, after.status_code) == (422, 202)


async def test_connections_killed_by_the_server_are_a_503_then_the_pool_recovers(
    live_client: AsyncClient, caller: Caller, test_engine: AsyncEngine
) -> None:
    placed = await place_order(live_client, caller[1])
    await live_client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])  # a pooled connection exists
    async with test_engine.begin() as connection:
        # Only this worker's database: other xdist workers' servers share the PostgreSQL server and
        # the application name. With a timeout, pg_terminate_backend returns once the backend exited.
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": APPLICATION_NAME},
        )

    lost = await live_client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])
    recovered = await live_client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])

    assert (lost.status_code, lost.json()["code"]) == (503, "service_unavailable")
    assert recovered.status_code == 200
