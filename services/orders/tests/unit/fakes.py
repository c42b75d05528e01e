"""In-memory implementations of the order services' ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from app.clients.users import RemoteUser
from app.exceptions import UserNotFoundError
from app.models.order import OrderStatus
from app.services.ports import NewItem, OrderStore, StoredKey


@dataclass
class StoredOrder:
    user_id: int
    total: Decimal
    key: str | None
    fingerprint: str
    status: OrderStatus = OrderStatus.PENDING
    items: list[NewItem] = field(default_factory=list)
    history: list[tuple[OrderStatus, str | None]] = field(default_factory=list)


@dataclass
class FakeOrderStore:
    orders: dict[int, StoredOrder] = field(default_factory=dict)

    async def insert_order(
        self, user_id: int, total: Decimal, idempotency_key: str | None, fingerprint: str
    ) -> int | None:
        if idempotency_key is not None and await self.find_by_key(user_id, idempotency_key) is not None:
            return None
        order_id = len(self.orders) + 1
        self.orders[order_id] = StoredOrder(user_id, total, idempotency_key, fingerprint)
        return order_id

    async def find_by_key(self, user_id: int, idempotency_key: str) -> StoredKey | None:
        for order_id, order in self.orders.items():
            if (order.user_id, order.key) == (user_id, idempotency_key):
                return StoredKey(order_id, order.fingerprint)
        return None

    async def add_items(self, order_id: int, items: Sequence[NewItem]) -> None:
        self.orders[order_id].items.extend(items)

    async def add_status(self, order_id: int, status: OrderStatus, reason: str | None = None) -> None:
        self.orders[order_id].history.append((status, reason))

    async def finish_pending(
        self, order_id: int, status: OrderStatus, *, reason: str | None = None, owner_id: int | None = None
    ) -> bool:
        order = self.orders.get(order_id)
        if order is None or order.status != OrderStatus.PENDING or owner_id not in (None, order.user_id):
            return False
        order.status = status
        await self.add_status(order_id, status, reason)
        return True

    async def status_of(self, order_id: int, *, owner_id: int | None = None) -> OrderStatus | None:
        order = self.orders.get(order_id)
        if order is None or owner_id not in (None, order.user_id):
            return None
        return order.status

    async def owner_of(self, order_id: int) -> int | None:
        order = self.orders.get(order_id)
        return order.user_id if order is not None else None

    def unit_of_work(self) -> AsyncIterator[OrderStore]:
        return self._unit_of_work()

    @asynccontextmanager
    async def _unit_of_work(self) -> AsyncIterator[OrderStore]:
        yield self


@dataclass
class FakeJobQueue:
    enqueued: list[int] = field(default_factory=list)

    async def enqueue_processing(self, order_id: int) -> None:
        self.enqueued.append(order_id)


@dataclass
class FakeUserDirectory:
    existing: set[int] = field(default_factory=set)

    async def get_user(self, user_id: int) -> RemoteUser:
        if user_id not in self.existing:
            raise UserNotFoundError(user_id)
        return RemoteUser(user_id)
