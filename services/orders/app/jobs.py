"""The job queue: pgqueuer's tables in the service's own database.

An order's processing job is enqueued on the asyncpg connection under the request's session,
inside its transaction: the order and its job commit together or not at all.
"""

from __future__ import annotations

from pgqueuer.queries import Queries
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.database import session_driver_connection

#: The entrypoint (job type) that processes one order; its payload is the order id.
PROCESS_ORDER = "process_order"


def encode_order_id(order_id: int) -> bytes:
    return str(order_id).encode()


def decode_order_id(payload: bytes | None) -> int:
    if payload is None or not payload.isdigit():
        msg = f"not an order id: {payload!r}"
        raise ValueError(msg)
    return int(payload)


class PgQueuerJobs:
    """Implements :class:`app.services.ports.JobQueue` in the session's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue_processing(self, order_id: int) -> None:
        connection = await session_driver_connection(self._session)
        await Queries.from_asyncpg_connection(connection).enqueue(PROCESS_ORDER, encode_order_id(order_id))
