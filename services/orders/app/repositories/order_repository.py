"""The write side of orders: inserts and conditional status changes. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.order import Order, OrderItem, OrderStatus, StatusChange
from app.services.ports import NewItem, StoredKey


class OrderRepository:
    """Implements :class:`app.services.ports.OrderStore` on the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def insert_order(
        self, user_id: int, total: Decimal, idempotency_key: str | None, fingerprint: str
    ) -> int | None:
        """The new order's id, or None when the caller already has an order with this key.

        ``ON CONFLICT DO NOTHING`` waits for a concurrent transaction inserting the same key and
        then yields nothing if that one committed: concurrent requests make exactly one order.
        """
        statement = (
            pg_insert(Order)
            .values(user_id=user_id, total=total, idempotency_key=idempotency_key, request_fingerprint=fingerprint)
            .on_conflict_do_nothing(
                index_elements=[Order.user_id, Order.idempotency_key],
                index_where=Order.idempotency_key.is_not(None),
            )
            .returning(Order.id)
        )
        order_id: int | None = (await self._session.execute(statement)).scalar_one_or_none()
        return order_id

    async def find_by_key(self, user_id: int, idempotency_key: str) -> StoredKey | None:
        statement = select(Order.id, Order.request_fingerprint).where(
            Order.user_id == user_id, Order.idempotency_key == idempotency_key
        )
        row = (await self._session.execute(statement)).one_or_none()
        return StoredKey(order_id=row.id, fingerprint=row.request_fingerprint) if row is not None else None

    async def add_items(self, order_id: int, items: Sequence[NewItem]) -> None:
        rows = [
            {"order_id": order_id, "position": position, "sku": item.sku, "quantity": item.quantity,
             "unit_price": item.unit_price}
            for position, item in enumerate(items)
        ]  # fmt: skip
        await self._session.execute(insert(OrderItem), rows)

    async def add_status(self, order_id: int, status: OrderStatus, reason: str | None = None) -> None:
        await self._session.execute(insert(StatusChange).values(order_id=order_id, status=status, reason=reason))

    async def finish_pending(
        self, order_id: int, status: OrderStatus, *, reason: str | None = None, owner_id: int | None = None
    ) -> bool:
        """Move a pending order to ``status`` (and record it); False if it was not pending.

        One conditional UPDATE: of a cancel and a confirmation racing, the second waits for the
        first's row lock, then finds the order no longer pending. Exactly one final status.
        """
        statement = (
            update(Order)
            .where(Order.id == order_id, Order.status == OrderStatus.PENDING)
            .values(status=status, updated_at=func.now())
            .returning(Order.id)
        )
        if owner_id is not None:
            statement = statement.where(Order.user_id == owner_id)
        if (await self._session.execute(statement)).scalar_one_or_none() is None:
            return False
        await self.add_status(order_id, status, reason)
        return True

    async def status_of(self, order_id: int, *, owner_id: int | None = None) -> OrderStatus | None:
        statement = select(Order.status).where(Order.id == order_id)
        if owner_id is not None:
            statement = statement.where(Order.user_id == owner_id)
        status = (await self._session.execute(statement)).scalar_one_or_none()
        return OrderStatus(status) if status is not None else None

    async def owner_of(self, order_id: int) -> int | None:
        owner: int | None = (await self._session.execute(select(Order.user_id).where(Order.id == order_id))).scalar()
        return owner
