"""Login throttling: the in-process counter (on a fake clock) and ``LoginThrottle`` on a fake counter."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.utils.throttle import InMemoryFailureCounter, LoginThrottle, ThrottleRule

WINDOW = 60


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def counter(clock: FakeClock) -> InMemoryFailureCounter:
    return InMemoryFailureCounter(clock=clock)


@pytest.mark.unit
class TestInMemoryFailureCounter:
    async def test_unknown_key_has_no_failures(self, counter: InMemoryFailureCounter) -> None:
        assert await counter.count("nobody") == (0, 0.0)

    async def test_counts_failures_within_the_window(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("k", WINDOW)

        assert await counter.count("k") == (2, WINDOW)

    async def test_window_is_fixed_from_the_first_failure(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        await counter.add_failure("k", WINDOW)
        clock.advance(50)
        await counter.add_failure("k", WINDOW)

        assert await counter.count("k") == (2, 10)

    async def test_failures_expire_with_the_window(self, counter: InMemoryFailureCounter, clock: FakeClock) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("k", WINDOW)
        clock.advance(WINDOW - 0.5)
        assert await counter.count("k") == (2, 0.5)

        clock.advance(0.5)

        assert await counter.count("k") == (0, 0.0)

    async def test_a_failure_after_expiry_starts_a_new_window(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("k", WINDOW)
        clock.advance(WINDOW + 5)

        await counter.add_failure("k", WINDOW)

        assert await counter.count("k") == (1, WINDOW)

    async def test_keys_are_independent(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("a", WINDOW)
        await counter.add_failure("a", WINDOW)
        await counter.add_failure("b", WINDOW)

        assert (await counter.count("a"))[0] == 2
        assert (await counter.count("b"))[0] == 1

    async def test_clear_forgets_the_key(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("other", WINDOW)

        await counter.clear("k")

        assert await counter.count("k") == (0, 0.0)
        assert (await counter.count("other"))[0] == 1

    async def test_clear_of_an_unknown_key_is_harmless(self, counter: InMemoryFailureCounter) -> None:
        await counter.clear("nobody")

        assert await counter.count("nobody") == (0, 0.0)

    async def test_full_table_evicts_the_oldest_key(self, clock: FakeClock) -> None:
        counter = InMemoryFailureCounter(max_keys=2, clock=clock)
        await counter.add_failure("first", WINDOW)
        await counter.add_failure("second", WINDOW)

        await counter.add_failure("third", WINDOW)

        assert (await counter.count("first"))[0] == 0
        assert (await counter.count("second"))[0] == 1
        assert (await counter.count("third"))[0] == 1

    async def test_full_table_evicts_expired_keys_before_live_ones(self, clock: FakeClock) -> None:
        counter = InMemoryFailureCounter(max_keys=2, clock=clock)
        await counter.add_failure("live", 1_000)
        await counter.add_failure("short-lived", 10)
        clock.advance(20)

        await counter.add_failure("new", WINDOW)

        assert (await counter.count("live"))[0] == 1
        assert (await counter.count("new"))[0] == 1

    async def test_known_key_is_updated_even_when_the_table_is_full(self, clock: FakeClock) -> None:
        counter = InMemoryFailureCounter(max_keys=2, clock=clock)
        await counter.add_failure("a", WINDOW)
        await counter.add_failure("b", WINDOW)

        await counter.add_failure("a", WINDOW)

        assert (await counter.count("a"))[0] == 2
        assert (await counter.count("b"))[0] == 1

    @given(
        max_keys=st.integers(min_value=1, max_value=5),
        steps=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 30)), min_size=1, max_size=40),
    )
    async def test_table_never_holds_more_than_max_keys(self, max_keys: int, steps: list[tuple[int, int]]) -> None:
        clock = FakeClock()
        counter = InMemoryFailureCounter(max_keys=max_keys, clock=clock)
        for key, advance in steps:
            clock.advance(advance)
            await counter.add_failure(f"k{key}", 25)

            live = [name for name in (f"k{i}" for i in range(10)) if (await counter.count(name))[0] > 0]
            assert len(live) <= max_keys
            assert f"k{key}" in live

    @given(st.lists(st.floats(min_value=0, max_value=2 * WINDOW, allow_nan=False), max_size=30))
    async def test_count_never_exceeds_failures_and_remaining_stays_within_the_window(
        self, advances: list[float]
    ) -> None:
        clock = FakeClock()
        counter = InMemoryFailureCounter(clock=clock)
        for number, advance in enumerate(advances, start=1):
            clock.advance(advance)
            await counter.add_failure("k", WINDOW)

            failures, remaining = await counter.count("k")
            assert 1 <= failures <= number
            assert 0 < remaining <= WINDOW + 1e-9  # float clock arithmetic


@dataclass
class FakeCounter:
    """A ``FailureCounter`` whose state the test sets and whose calls it inspects."""

    windows: dict[str, tuple[int, float]] = field(default_factory=dict)
    added: list[tuple[str, int]] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    pinged: int = 0

    async def count(self, key: str) -> tuple[int, float]:
        return self.windows.get(key, (0, 0.0))

    async def add_failure(self, key: str, window_seconds: int) -> None:
        self.added.append((key, window_seconds))
        failures, remaining = self.windows.get(key, (0, float(window_seconds)))
        self.windows[key] = (failures + 1, remaining)

    async def clear(self, key: str) -> None:
        self.cleared.append(key)
        self.windows.pop(key, None)

    async def ping(self) -> None:
        self.pinged += 1


ACCOUNT_RULE = ThrottleRule("account", max_failures=3, window_seconds=600)
CLIENT_RULE = ThrottleRule("client", max_failures=10, window_seconds=900)
EMAIL = "alice@example.com"
CLIENT = "203.0.113.7"


@pytest.fixture
def fake_counter() -> FakeCounter:
    return FakeCounter()


@pytest.fixture
def throttle(fake_counter: FakeCounter) -> LoginThrottle:
    return LoginThrottle(fake_counter, account_rule=ACCOUNT_RULE, client_rule=CLIENT_RULE)


@pytest.mark.unit
class TestThrottleRule:
    def test_key_is_a_prefixed_digest_not_the_subject(self) -> None:
        key = ACCOUNT_RULE.key(EMAIL)

        assert key == f"login-throttle:account:{hashlib.sha256(EMAIL.encode()).hexdigest()[:32]}"
        assert EMAIL not in key

    def test_rules_with_other_prefixes_never_share_keys(self) -> None:
        assert ACCOUNT_RULE.key("x") != CLIENT_RULE.key("x")


@pytest.mark.unit
class TestLoginThrottle:
    async def test_allows_below_both_limits(self, throttle: LoginThrottle, fake_counter: FakeCounter) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (2, 100.0)
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (9, 100.0)

        assert await throttle.retry_after(EMAIL, CLIENT) is None

    async def test_account_at_its_limit_waits_for_its_window(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (3, 41.2)

        assert await throttle.retry_after(EMAIL, CLIENT) == 42

    async def test_client_at_its_limit_waits_for_its_window(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (10, 7.0)

        assert await throttle.retry_after("someone-else@example.com", CLIENT) == 7

    async def test_both_limited_waits_for_the_longer(self, throttle: LoginThrottle, fake_counter: FakeCounter) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (5, 30.0)
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (12, 300.0)

        assert await throttle.retry_after(EMAIL, CLIENT) == 300

    async def test_a_fraction_of_a_second_still_means_wait(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (3, 0.001)

        assert await throttle.retry_after(EMAIL, CLIENT) == 1

    async def test_other_accounts_and_clients_are_not_limited(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (3, 100.0)
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (10, 100.0)

        assert await throttle.retry_after("bob@example.com", "198.51.100.1") is None

    async def test_failure_counts_for_the_account_and_the_client_with_their_windows(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        await throttle.record_failure(EMAIL, CLIENT)

        assert sorted(fake_counter.added) == sorted(
            [
                (ACCOUNT_RULE.key(EMAIL), ACCOUNT_RULE.window_seconds),
                (CLIENT_RULE.key(CLIENT), CLIENT_RULE.window_seconds),
            ]
        )

    @pytest.mark.parametrize("spelling", ["ALICE@example.com", " alice@Example.COM ", "Alice@EXAMPLE.com\t"])
    async def test_account_is_normalised(
        self, throttle: LoginThrottle, fake_counter: FakeCounter, spelling: str
    ) -> None:
        await throttle.record_failure(spelling, CLIENT)
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (3, 10.0)

        assert (ACCOUNT_RULE.key(EMAIL), ACCOUNT_RULE.window_seconds) in fake_counter.added
        assert await throttle.retry_after(spelling, CLIENT) == 10

    async def test_limit_is_reached_after_max_failures(self, throttle: LoginThrottle) -> None:
        for _ in range(ACCOUNT_RULE.max_failures - 1):
            await throttle.record_failure(EMAIL, CLIENT)
        assert await throttle.retry_after(EMAIL, CLIENT) is None

        await throttle.record_failure(EMAIL, CLIENT)

        assert await throttle.retry_after(EMAIL, CLIENT) == ACCOUNT_RULE.window_seconds

    async def test_success_clears_the_account_only(self, throttle: LoginThrottle, fake_counter: FakeCounter) -> None:
        await throttle.record_failure(EMAIL, CLIENT)

        await throttle.record_success(" Alice@Example.com")

        assert fake_counter.cleared == [ACCOUNT_RULE.key(EMAIL)]
        assert CLIENT_RULE.key(CLIENT) in fake_counter.windows

    async def test_ping_reaches_the_store(self, throttle: LoginThrottle, fake_counter: FakeCounter) -> None:
        await throttle.ping()

        assert fake_counter.pinged == 1

    async def test_works_end_to_end_with_the_in_memory_counter(self, clock: FakeClock) -> None:
        throttle = LoginThrottle(
            InMemoryFailureCounter(clock=clock), account_rule=ACCOUNT_RULE, client_rule=CLIENT_RULE
        )
        for _ in range(ACCOUNT_RULE.max_failures):
            await throttle.record_failure(EMAIL, CLIENT)
        clock.advance(100)
        assert await throttle.retry_after(EMAIL, CLIENT) == ACCOUNT_RULE.window_seconds - 100

        clock.advance(ACCOUNT_RULE.window_seconds - 100)

        assert await throttle.retry_after(EMAIL, CLIENT) is None
