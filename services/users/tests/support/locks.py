"""Forcing an interleaving: wait (with a deadline, never a sleep of a guessed length) until a
request blocks on a row lock that the test holds."""

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
    """Poll ``pg_stat_activity`` until ``count`` backends of this database wait for a lock."""
    deadline = time.monotonic() + LOCK_WAIT_DEADLINE_SECONDS
    async with engine.connect() as connection:
        while (await connection.scalar(_WAITING_FOR_A_LOCK) or 0) < count:
            assert time.monotonic() < deadline, f"{count} backends never waited for a lock"
            await asyncio.sleep(0.01)
