"""The in-process failure table stays bounded without forgetting live counts it need not forget.

Each test reads a key's count back through one more ``add_failure``: ``(2, ...)`` means the key
still held its first failure, ``(1, ...)`` that it had been evicted.
"""

from __future__ import annotations

import pytest

from app.utils.throttle import InMemoryFailureCounter

WINDOW = 60


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.unit
class TestFullTable:
    async def test_another_failure_of_a_known_key_evicts_nobody(self) -> None:
        counter = InMemoryFailureCounter(max_keys=2, clock=FakeClock())
        await counter.add_failure("oldest", WINDOW)
        await counter.add_failure("newest", WINDOW)

        assert await counter.add_failure("newest", WINDOW) == (2, WINDOW)

        assert await counter.add_failure("oldest", WINDOW) == (2, WINDOW)

    async def test_a_window_that_ends_now_is_evicted_before_any_live_one(self) -> None:
        clock = FakeClock()
        counter = InMemoryFailureCounter(max_keys=2, clock=clock)
        await counter.add_failure("live", 1_000)
        await counter.add_failure("ending", 10)
        clock.advance(10)

        assert await counter.add_failure("new", WINDOW) == (1, WINDOW)

        assert await counter.add_failure("live", 1_000) == (2, 990)
