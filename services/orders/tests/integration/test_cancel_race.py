"""A cancel racing the worker's confirmation: exactly one final status, and the answer agrees."""

from __future__ import annotations

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.clients.users import create_users_client
from app.config import Settings
from app.models.order import StatusChange
from app.services.processing import OrderProcessor, Outcome, sql_unit_of_work
from tests.support.orders import ORDERS, place_order

pytestmark = pytest.mark.integration

ROUNDS = 12


async def final_statuses(test_engine: AsyncEngine, order_id: int) -> list[str]:
    statement = select(StatusChange.status).where(StatusChange.order_id == order_id, StatusChange.status != "pending")
    async with test_engine.connect() as connection:
        return list((await connection.execute(statement)).scalars())


async def test_cancel_and_confirmation_race_to_one_final_status(
    live_client: AsyncClient, caller: tuple[int, dict[str, str]], test_engine: AsyncEngine, mock_settings: Settings
) -> None:
    users = create_users_client(mock_settings)
    processor = OrderProcessor(sql_unit_of_work(async_sessionmaker(test_engine)), users)
    orders = [await place_order(live_client, caller[1]) for _ in range(ROUNDS)]

    async def race(order_id: int) -> tuple[int, Outcome]:
        cancel, outcome = await asyncio.gather(
            live_client.post(f"{ORDERS}/{order_id}/cancel", headers=caller[1]), processor.process(order_id)
        )
        return cancel.status_code, outcome

    results = await asyncio.gather(*(race(order["id"]) for order in orders))
    await users.aclose()

    for order, (cancel_status, outcome) in zip(orders, results, strict=True):
        finals = await final_statuses(test_engine, order["id"])
        if cancel_status == 200:
            assert (finals, outcome) == (["cancelled"], Outcome.ALREADY_FINAL)
        else:
            assert (cancel_status, finals, outcome) == (409, ["confirmed"], Outcome.CONFIRMED)
