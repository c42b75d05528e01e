"""Forcing an interleaving: wait (with a deadline, never a sleep of a guessed length) until requests
block on locks that the test holds."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

LOCK_WAIT_DEADLINE_SECONDS = 10.0
_WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


async def wait_until_a_backend_waits_for_a_lock(engine: AsyncEngine, count: int = 1) -> None:
    """Poll ``pg_stat_activity`` until ``count`` backends of this database wait for a lock.

    Each poll is a transaction of its own: PostgreSQL keeps one snapshot of the view per
    transaction, so polling inside one would never see a request that starts waiting later.
    """
    deadline = time.monotonic() + LOCK_WAIT_DEADLINE_SECONDS
    async with engine.connect() as connection:
        while True:
            waiting = await connection.scalar(_WAITING_FOR_A_LOCK) or 0
            await connection.rollback()
            if waiting >= count:
                return
            assert time.monotonic() < deadline, f"{count} backends never waited for a lock"
            await asyncio.sleep(0.01)
