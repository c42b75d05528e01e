"""``/orders``: place, read, list and cancel the caller's orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from app.api.deps import CurrentUser, OrderQueriesDep, OrderQueriesInSessionDep, OrderServiceDep
from app.api.errors import error_responses
from app.exceptions import OrderNotFoundError
from app.repositories.order_queries import OrderQueries
from app.schemas.common import EntityId
from app.schemas.order import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, OrderCreate, OrderOut, OrderPage
from app.services.ports import NewItem

router = APIRouter(prefix="/orders", tags=["orders"])

#: 1-255 visible ASCII characters, no spaces.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
]


async def _require(queries: OrderQueries, order_id: int, user_id: int) -> OrderOut:
    order = await queries.order(order_id, user_id)
    if order is None:
        raise OrderNotFoundError
    return order


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(400, 401, 409, 422))
async def place_order(
    body: OrderCreate,
    caller: CurrentUser,
    orders: OrderServiceDep,
    queries: OrderQueriesInSessionDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut:
    """Accept an order for processing; it is ``pending`` until the worker confirms or rejects it.

    A repeat with the same ``Idempotency-Key`` and body answers with the same order, as it is now.
    """
    items = [NewItem(sku=item.sku, quantity=item.quantity, unit_price=item.unit_price) for item in body.items]
    order_id = await orders.place_order(caller.id, items, idempotency_key)
    return await _require(queries, order_id, caller.id)


@router.get("", responses=error_responses(401, 422))
async def list_orders(
    caller: CurrentUser,
    queries: OrderQueriesDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderPage:
    """The caller's orders, newest first."""
    # One more than asked for tells whether another page follows.
    orders = await queries.page(caller.id, limit + 1, offset)
    next_offset = offset + limit if len(orders) > limit else None
    return OrderPage(items=orders[:limit], limit=limit, offset=offset, next_offset=next_offset)


@router.get("/{order_id}", responses=error_responses(401, 404, 422))
async def read_order(order_id: EntityId, caller: CurrentUser, queries: OrderQueriesDep) -> OrderOut:
    """One of the caller's orders; anyone else's is not found."""
    return await _require(queries, order_id, caller.id)


@router.post("/{order_id}/cancel", responses=error_responses(401, 404, 409, 422))
async def cancel_order(
    order_id: EntityId, caller: CurrentUser, orders: OrderServiceDep, queries: OrderQueriesInSessionDep
) -> OrderOut:
    """Cancel a pending order. Once it is confirmed, rejected or cancelled: 409."""
    await orders.cancel(order_id, caller.id)
    return await _require(queries, order_id, caller.id)
