"""The read side's queries on real PostgreSQL, below the API that pages with them."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.order_queries import OrderQueries
from servicekit.database import ReadDatabase
from tests.support.orders import place_order

pytestmark = pytest.mark.integration

Caller = tuple[int, dict[str, str]]


async def test_a_page_reads_only_its_own_orders_from_the_database(
    client: AsyncClient, caller: Caller, db_session: AsyncSession
) -> None:
    """However many orders a caller has, a list request reads one page of rows, not all of them."""
    user_id, headers = caller
    placed = [await place_order(client, headers) for _ in range(4)]
    queries = OrderQueries(ReadDatabase(session=db_session))

    first = await queries.page(user_id, 2, 0)
    rest = await queries.page(user_id, 2, 2)

    assert [order.id for order in first] == [placed[3]["id"], placed[2]["id"]]
    assert [order.id for order in rest] == [placed[1]["id"], placed[0]["id"]]
