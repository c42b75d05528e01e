"""Placing and cancelling orders: the rules, on ports (no SQL, no HTTP)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal

from app.exceptions import (
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    OrderNotCancellableError,
    OrderNotFoundError,
)
from app.models.order import OrderStatus
from app.services.ports import JobQueue, NewItem, OrderStore


def order_total(items: Sequence[NewItem]) -> Decimal:
    """The sum of quantity times unit price, exact, to the cent."""
    return sum((item.unit_price * item.quantity for item in items), Decimal(0)).quantize(Decimal("0.01"))


def fingerprint(items: Sequence[NewItem]) -> str:
    """Identifies a request body: the same items in the same order, prices compared as values."""
    canonical = [[item.sku, item.quantity, f"{item.unit_price:.2f}"] for item in items]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


class OrderService:
    def __init__(self, orders: OrderStore, jobs: JobQueue) -> None:
        self._orders = orders
        self._jobs = jobs

    async def place_order(self, user_id: int, items: Sequence[NewItem], idempotency_key: str | None) -> int:
        """The id of the new order, pending with its processing job enqueued alongside.

        With an idempotency key already used by this caller: the same order for the same body,
        :class:`IdempotencyKeyReusedError` for another body.
        """
        request_fingerprint = fingerprint(items)
        if idempotency_key is not None:
            existing = await self._existing_order(user_id, idempotency_key, request_fingerprint)
            if existing is not None:
                return existing
        order_id = await self._orders.insert_order(user_id, order_total(items), idempotency_key, request_fingerprint)
        if order_id is None:
            # Only a keyed insert conflicts: a concurrent request with this key committed first.
            return await self._order_of_concurrent_request(user_id, idempotency_key, request_fingerprint)
        await self._orders.add_items(order_id, items)
        await self._orders.add_status(order_id, OrderStatus.PENDING)
        await self._jobs.enqueue_processing(order_id)
        return order_id

    async def _existing_order(self, user_id: int, idempotency_key: str, request_fingerprint: str) -> int | None:
        stored = await self._orders.find_by_key(user_id, idempotency_key)
        if stored is None:
            return None
        if stored.fingerprint != request_fingerprint:
            raise IdempotencyKeyReusedError
        return stored.order_id

    async def _order_of_concurrent_request(
        self, user_id: int, idempotency_key: str | None, request_fingerprint: str
    ) -> int:
        existing = None
        if idempotency_key is not None:
            existing = await self._existing_order(user_id, idempotency_key, request_fingerprint)
        if existing is None:
            raise IdempotencyKeyInFlightError
        return existing

    async def cancel(self, order_id: int, user_id: int) -> None:
        """Cancel the caller's pending order; 404 for anyone else's, 409 once it is final."""
        if await self._orders.finish_pending(order_id, OrderStatus.CANCELLED, owner_id=user_id):
            return
        status = await self._orders.status_of(order_id, owner_id=user_id)
        if status is None:
            raise OrderNotFoundError
        raise OrderNotCancellableError(status)
