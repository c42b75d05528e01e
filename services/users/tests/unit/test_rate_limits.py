"""``RateLimits``: every request counts, per limit and per subject, in fixed windows (fake clock)."""

from __future__ import annotations

import hashlib

import pytest

from app.exceptions import TooManyAttemptsError
from app.services.limits import Limit, enforce
from app.utils.throttle import InMemoryFailureCounter, RateLimits
from tests.unit.test_throttle import FakeClock

WINDOW = 60
ALLOWED = 3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def counter(clock: FakeClock) -> InMemoryFailureCounter:
    return InMemoryFailureCounter(clock=clock)


@pytest.fixture
def limits(counter: InMemoryFailureCounter) -> RateLimits:
    return RateLimits(counter, {"per-thing": (ALLOWED, WINDOW), Limit.VERIFICATION_PER_ACCOUNT: (1, 2 * WINDOW)})


@pytest.mark.unit
class TestRateLimits:
    async def test_the_allowed_requests_pass_and_the_next_waits_for_the_window(
        self, limits: RateLimits, clock: FakeClock
    ) -> None:
        allowed = [await limits.hit("per-thing", "a") for _ in range(ALLOWED)]
        clock.advance(10.5)

        refused = await limits.hit("per-thing", "a")

        assert allowed == [None] * ALLOWED
        assert refused == WINDOW - 10  # 49.5 seconds left, rounded up

    async def test_a_new_window_allows_requests_again(self, limits: RateLimits, clock: FakeClock) -> None:
        for _ in range(ALLOWED + 1):
            await limits.hit("per-thing", "a")
        clock.advance(WINDOW)

        assert await limits.hit("per-thing", "a") is None

    async def test_subjects_and_limits_are_counted_apart(self, limits: RateLimits) -> None:
        for _ in range(ALLOWED):
            await limits.hit("per-thing", "a")

        assert await limits.hit("per-thing", "b") is None
        assert await limits.hit(Limit.VERIFICATION_PER_ACCOUNT, "a") is None
        assert await limits.hit(Limit.VERIFICATION_PER_ACCOUNT, "a") == 2 * WINDOW

    async def test_the_store_keeps_a_digest_of_the_subject_under_its_own_namespace(
        self, limits: RateLimits, counter: InMemoryFailureCounter
    ) -> None:
        await limits.hit("per-thing", "alice@example.com")

        digest = hashlib.sha256(b"alice@example.com").hexdigest()[:32]
        assert await counter.add_failure(f"rate-limit:per-thing:{digest}", WINDOW) == (2, WINDOW)

    async def test_an_unknown_limit_is_a_programming_error(self, limits: RateLimits) -> None:
        with pytest.raises(KeyError):
            await limits.hit("nowhere", "a")


@pytest.mark.unit
class TestEnforce:
    async def test_within_the_limit_nothing_happens(self, limits: RateLimits) -> None:
        await enforce(limits, Limit.VERIFICATION_PER_ACCOUNT, "a")

    async def test_past_the_limit_a_429_error_says_how_long_to_wait(self, limits: RateLimits) -> None:
        await enforce(limits, Limit.VERIFICATION_PER_ACCOUNT, "a")

        with pytest.raises(TooManyAttemptsError) as refused:
            await enforce(limits, Limit.VERIFICATION_PER_ACCOUNT, "a")

        assert refused.value.retry_after_seconds == 2 * WINDOW
        assert refused.value.code == "too_many_attempts"
