"""Readiness: probes with a deadline for health endpoints, and waits for a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

CheckResult = Literal["ok", "failed"]

#: How long one readiness probe may take before the dependency counts as down.
CHECK_TIMEOUT_SECONDS = 2.0


async def check(probe: Awaitable[None], timeout_seconds: float = CHECK_TIMEOUT_SECONDS) -> CheckResult:
    """``"ok"`` when ``probe`` finishes within the timeout, ``"failed"`` on any error or delay."""
    try:
        await asyncio.wait_for(probe, timeout_seconds)
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return "failed"
    return "ok"


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    *,
    deadline_seconds: float,
    interval_seconds: float = 0.05,
    describe: str = "condition",
) -> None:
    """Poll ``condition`` until it is true; ``TimeoutError`` at the deadline (never a fixed sleep)."""
    deadline = time.monotonic() + deadline_seconds
    while not await condition():
        if time.monotonic() > deadline:
            msg = f"{describe} not met within {deadline_seconds}s"
            raise TimeoutError(msg)
        await asyncio.sleep(interval_seconds)
