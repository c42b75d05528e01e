"""What the order services need from the outside world, as ports with plain values.

The repository (``app.repositories``), the job queue (``app.jobs``) and the users client
(``app.clients.users``) implement them; unit tests use the in-memory fakes of ``tests.unit.fakes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from app.clients.users import RemoteUser
from app.models.order import OrderStatus


@dataclass(frozen=True)
class NewItem:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class StoredKey:
    """The order an idempotency key created, and the fingerprint of the request that did."""

    order_id: int
    fingerprint: str


class OrderStore(Protocol):
    async def insert_order(
        self, user_id: int, total: Decimal, idempotency_key: str | None, fingerprint: str
    ) -> int | None: ...

    async def find_by_key(self, user_id: int, idempotency_key: str) -> StoredKey | None: ...

    async def add_items(self, order_id: int, items: Sequence[NewItem]) -> None: ...

    async def add_status(self, order_id: int, status: OrderStatus, reason: str | None = None) -> None: ...

    async def finish_pending(
        self, order_id: int, status: OrderStatus, *, reason: str | None = None, owner_id: int | None = None
    ) -> bool: ...

    async def status_of(self, order_id: int, *, owner_id: int | None = None) -> OrderStatus | None: ...

    async def owner_of(self, order_id: int) -> int | None: ...


class JobQueue(Protocol):
    async def enqueue_processing(self, order_id: int) -> None:
        """Schedule the order's processing, in the same transaction as the order."""
        ...


class UserDirectory(Protocol):
    async def get_user(self, user_id: int) -> RemoteUser: ...
