"""Processing an accepted order: confirmed when its owner exists, rejected when not.

Runs in the worker. The users service is asked outside any transaction; the final status is
then written in one short unit of work, and only if the order is still pending, so an order is
processed once whatever runs twice (a retried job, two workers, a cancel in between).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.exceptions import UserNotFoundError
from app.models.order import OrderStatus
from app.repositories.order_repository import OrderRepository
from app.services.ports import OrderStore, UserDirectory

logger = logging.getLogger(__name__)

#: A unit of work: an :class:`OrderStore` whose changes commit when the block ends without error.
UnitOfWork = Callable[[], AbstractAsyncContextManager[OrderStore]]

REJECTED_REASON = "The user does not exist or is deactivated"


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ALREADY_FINAL = "already_final"
    NOT_FOUND = "not_found"


def sql_unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    """Units of work on the service's database, one transaction each."""

    @asynccontextmanager
    async def unit_of_work() -> AsyncIterator[OrderStore]:
        async with sessions() as session, session.begin():
            yield OrderRepository(session)

    return unit_of_work


class OrderProcessor:
    def __init__(self, unit_of_work: UnitOfWork, users: UserDirectory) -> None:
        self._unit_of_work = unit_of_work
        self._users = users

    async def process(self, order_id: int) -> Outcome:
        """Confirm or reject a pending order; the users service being unavailable propagates."""
        async with self._unit_of_work() as orders:
            owner = await orders.owner_of(order_id)
            status = await orders.status_of(order_id)
        if owner is None:
            return Outcome.NOT_FOUND
        if status != OrderStatus.PENDING:
            return Outcome.ALREADY_FINAL
        try:
            await self._users.get_user(owner)
        except UserNotFoundError:
            return await self._finish(order_id, OrderStatus.REJECTED, REJECTED_REASON)
        return await self._finish(order_id, OrderStatus.CONFIRMED, None)

    async def _finish(self, order_id: int, status: OrderStatus, reason: str | None) -> Outcome:
        async with self._unit_of_work() as orders:
            finished = await orders.finish_pending(order_id, status, reason=reason)
        if not finished:
            logger.info("order %s became final while it was being processed", order_id)
            return Outcome.ALREADY_FINAL
        return Outcome(status.value)
