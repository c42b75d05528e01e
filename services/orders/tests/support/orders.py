"""Helpers of the orders API tests."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

ORDERS = "/api/v1/orders"
TWO_BOOKS: dict[str, Any] = {"items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": "9.99"}]}


async def place_order(
    client: AsyncClient, headers: dict[str, str], body: dict[str, Any] | None = None, key: str | None = None
) -> dict[str, Any]:
    extra = {"Idempotency-Key": key} if key is not None else {}
    response = await client.post(ORDERS, json=body or TWO_BOOKS, headers={**headers, **extra})
    assert response.status_code == 202, response.text
    order: dict[str, Any] = response.json()
    return order
