"""The read side of orders: one SQL statement per read, on a driver connection, no transaction.

Each order comes back with its items and status history aggregated as JSON in the same row, so
``GET /orders/{id}`` is one round trip. Prices travel as text and timestamps as UTC text, so
nothing passes through a float or a local time zone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.schemas.order import OrderItemOut, OrderOut, StatusEntry
from servicekit.database import ReadDatabase

_ORDER_COLUMNS = """
    o.id, o.user_id, o.status, o.total::text AS total, o.created_at, o.updated_at,
    (SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unit_price', i.unit_price::text)
                     ORDER BY i.position)::text
       FROM order_items i WHERE i.order_id = o.id) AS items,
    (SELECT json_agg(json_build_object('status', h.status, 'at', h.at AT TIME ZONE 'UTC', 'reason', h.reason)
                     ORDER BY h.id)::text
       FROM order_status_history h WHERE h.order_id = o.id) AS history
"""
_ONE_ORDER = f"SELECT {_ORDER_COLUMNS} FROM orders o WHERE o.id = $1 AND o.user_id = $2"  # noqa: S608 - constant SQL
_PAGE = (
    f"SELECT {_ORDER_COLUMNS} FROM orders o WHERE o.user_id = $1"  # noqa: S608 - constant SQL
    " ORDER BY o.created_at DESC, o.id DESC LIMIT $2 OFFSET $3"
)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _order_from(row: Mapping[str, Any]) -> OrderOut:
    items = json.loads(row["items"] or "[]")
    history = json.loads(row["history"] or "[]")
    return OrderOut(
        id=row["id"],
        user_id=row["user_id"],
        status=row["status"],
        total=Decimal(row["total"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        items=[OrderItemOut(sku=i["sku"], quantity=i["quantity"], unit_price=Decimal(i["unit_price"])) for i in items],
        status_history=[StatusEntry(status=h["status"], at=_utc(h["at"]), reason=h["reason"]) for h in history],
    )


class OrderQueries:
    """Reads of the caller's orders; another user's order is simply not found."""

    def __init__(self, read_db: ReadDatabase) -> None:
        self._read_db = read_db

    async def order(self, order_id: int, user_id: int) -> OrderOut | None:
        async with self._read_db.driver_connection() as connection:
            row = await connection.fetchrow(_ONE_ORDER, order_id, user_id)
        return _order_from(row) if row is not None else None

    async def page(self, user_id: int, limit: int, offset: int) -> list[OrderOut]:
        """Up to ``limit`` orders from ``offset``, newest first."""
        async with self._read_db.driver_connection() as connection:
            rows = await connection.fetch(_PAGE, user_id, limit, offset)
        return [_order_from(row) for row in rows]
