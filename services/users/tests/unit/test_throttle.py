"""Login throttling and rate limits: the in-process counter (on a fake clock), ``LoginThrottle`` on
fake and real counters, and ``RateLimits``.

Every attempt is counted *before* the password is checked (``begin_attempt``), atomically, so
concurrent guesses cannot slip past the limit; a success gives the attempt back (``record_success``).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.exceptions import TooManyAttemptsError
from app.services.limits import Limit, enforce
from app.utils.throttle import FailureCounter, InMemoryFailureCounter, LoginThrottle, RateLimits, ThrottleRule

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
    """Observed through the port only: what ``add_failure`` answers tells what was counted before."""

    async def test_a_first_failure_starts_a_full_window(self, counter: InMemoryFailureCounter) -> None:
        assert await counter.add_failure("nobody", WINDOW) == (1, WINDOW)

    async def test_counts_failures_within_the_window(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("k", WINDOW)

        assert await counter.add_failure("k", WINDOW) == (3, WINDOW)

    async def test_add_failure_returns_the_new_count_and_the_seconds_left(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        first = await counter.add_failure("k", WINDOW)
        clock.advance(15)
        second = await counter.add_failure("k", WINDOW)
        clock.advance(5)
        third = await counter.add_failure("k", WINDOW)

        assert (first, second, third) == ((1, WINDOW), (2, WINDOW - 15), (3, WINDOW - 20))

    async def test_window_is_fixed_from_the_first_failure(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        await counter.add_failure("k", WINDOW)
        clock.advance(50)

        assert await counter.add_failure("k", WINDOW) == (2, 10)

    async def test_failures_expire_with_the_window(self, counter: InMemoryFailureCounter, clock: FakeClock) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("k", WINDOW)
        clock.advance(WINDOW - 0.5)
        assert await counter.add_failure("k", WINDOW) == (3, 0.5)

        clock.advance(0.5)

        assert await counter.add_failure("k", WINDOW) == (1, WINDOW)

    async def test_a_failure_after_expiry_starts_a_new_window(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("k", WINDOW)
        clock.advance(WINDOW + 5)

        assert await counter.add_failure("k", WINDOW) == (1, WINDOW)
        assert await counter.add_failure("k", WINDOW) == (2, WINDOW)

    async def test_keys_are_independent(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("a", WINDOW)
        await counter.add_failure("a", WINDOW)

        added = await counter.add_failure("b", WINDOW)

        assert added == (1, WINDOW)
        assert await counter.add_failure("a", WINDOW) == (3, WINDOW)

    async def test_remove_failure_takes_one_back_and_keeps_the_window(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        for _ in range(3):
            await counter.add_failure("k", WINDOW)
        clock.advance(20)

        await counter.remove_failure("k")

        assert await counter.add_failure("k", WINDOW) == (3, WINDOW - 20)

    async def test_remove_failure_to_zero_drops_the_key(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        await counter.add_failure("k", WINDOW)
        clock.advance(20)

        await counter.remove_failure("k")

        # A dropped key starts a fresh window; a zero left behind would keep the old one.
        assert await counter.add_failure("k", WINDOW) == (1, WINDOW)

    async def test_remove_failure_never_goes_below_zero(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.remove_failure("k")
        await counter.remove_failure("k")
        await counter.remove_failure("nobody")

        assert await counter.add_failure("k", WINDOW) == (1, WINDOW)
        assert await counter.add_failure("nobody", WINDOW) == (1, WINDOW)

    async def test_remove_failure_leaves_other_keys_alone(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("other", WINDOW)
        await counter.add_failure("other", WINDOW)

        await counter.remove_failure("k")

        assert await counter.add_failure("other", WINDOW) == (3, WINDOW)

    async def test_remove_failure_of_an_expired_window_does_not_revive_it(
        self, counter: InMemoryFailureCounter, clock: FakeClock
    ) -> None:
        for _ in range(3):
            await counter.add_failure("k", WINDOW)
        clock.advance(WINDOW + 1)

        await counter.remove_failure("k")

        assert await counter.add_failure("k", WINDOW) == (1, WINDOW)

    async def test_clear_forgets_the_key(self, counter: InMemoryFailureCounter) -> None:
        await counter.add_failure("k", WINDOW)
        await counter.add_failure("other", WINDOW)

        await counter.clear("k")

        assert await counter.add_failure("k", WINDOW) == (1, WINDOW)
        assert await counter.add_failure("other", WINDOW) == (2, WINDOW)

    async def test_clear_of_an_unknown_key_is_harmless(self, counter: InMemoryFailureCounter) -> None:
        await counter.clear("nobody")

        assert await counter.add_failure("nobody", WINDOW) == (1, WINDOW)

    async def test_full_table_evicts_the_oldest_key(self, clock: FakeClock) -> None:
        counter = InMemoryFailureCounter(max_keys=2, clock=clock)
        await counter.add_failure("first", WINDOW)
        await counter.add_failure("second", WINDOW)

        await counter.add_failure("third", WINDOW)

        # Known keys first (adding to them evicts nothing), then the evicted one, which starts over.
        assert await counter.add_failure("second", WINDOW) == (2, WINDOW)
        assert await counter.add_failure("third", WINDOW) == (2, WINDOW)
        assert await counter.add_failure("first", WINDOW) == (1, WINDOW)

    async def test_full_table_evicts_expired_keys_before_live_ones(self, clock: FakeClock) -> None:
        counter = InMemoryFailureCounter(max_keys=2, clock=clock)
        await counter.add_failure("live", 1_000)
        await counter.add_failure("short-lived", 10)
        clock.advance(20)

        await counter.add_failure("new", WINDOW)

        assert await counter.add_failure("live", 1_000) == (2, 980)
        assert await counter.add_failure("new", WINDOW) == (2, WINDOW)

    async def test_known_key_is_updated_even_when_the_table_is_full(self, clock: FakeClock) -> None:
        counter = InMemoryFailureCounter(max_keys=2, clock=clock)
        await counter.add_failure("a", WINDOW)
        await counter.add_failure("b", WINDOW)

        assert await counter.add_failure("a", WINDOW) == (2, WINDOW)
        assert await counter.add_failure("b", WINDOW) == (2, WINDOW)

    @given(
        max_keys=st.integers(min_value=1, max_value=5),
        steps=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 30)), min_size=1, max_size=40),
    )
    async def test_table_never_holds_more_than_max_keys(self, max_keys: int, steps: list[tuple[int, int]]) -> None:
        """The bound is on memory, which the port does not show: the table's size is read directly."""
        clock = FakeClock()
        counter = InMemoryFailureCounter(max_keys=max_keys, clock=clock)
        for key, advance in steps:
            clock.advance(advance)
            await counter.add_failure(f"k{key}", 25)

            assert len(counter._windows) <= max_keys  # noqa: SLF001 - see the docstring
            assert f"k{key}" in counter._windows  # noqa: SLF001 - the key just counted is kept

    @given(st.lists(st.floats(min_value=0, max_value=2 * WINDOW, allow_nan=False), min_size=1, max_size=30))
    async def test_count_never_exceeds_failures_and_remaining_stays_within_the_window(
        self, advances: list[float]
    ) -> None:
        clock = FakeClock()
        counter = InMemoryFailureCounter(clock=clock)
        for number, advance in enumerate(advances, start=1):
            clock.advance(advance)

            failures, remaining = await counter.add_failure("k", WINDOW)

            assert 1 <= failures <= number
            assert 0 < remaining <= WINDOW + 1e-9  # float clock arithmetic

    @given(st.lists(st.booleans(), max_size=40))
    async def test_adds_and_removes_within_a_window_keep_a_count_that_never_goes_negative(
        self, adds: list[bool]
    ) -> None:
        """``True`` adds a failure, ``False`` takes one back; the model is a count clamped at zero."""
        counter = InMemoryFailureCounter(clock=FakeClock())
        expected = 0
        for add in adds:
            if add:
                expected += 1
                assert (await counter.add_failure("k", WINDOW))[0] == expected
            else:
                expected = max(expected - 1, 0)
                await counter.remove_failure("k")

        assert (await counter.add_failure("k", WINDOW))[0] == expected + 1


@dataclass
class FakeCounter:
    """A ``FailureCounter`` whose state the test sets and whose calls it inspects.

    ``windows`` maps a key to (failures, seconds left); ``add_failure`` keeps the seconds left.
    """

    windows: dict[str, tuple[int, float]] = field(default_factory=dict)
    added: list[tuple[str, int]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    pinged: int = 0

    async def add_failure(self, key: str, window_seconds: int) -> tuple[int, float]:
        self.added.append((key, window_seconds))
        failures, remaining = self.windows.get(key, (0, float(window_seconds)))
        self.windows[key] = (failures + 1, remaining)
        return self.windows[key]

    async def remove_failure(self, key: str) -> None:
        self.removed.append(key)
        failures, remaining = self.windows.get(key, (0, 0.0))
        if failures <= 1:
            self.windows.pop(key, None)
        else:
            self.windows[key] = (failures - 1, remaining)

    async def clear(self, key: str) -> None:
        self.cleared.append(key)
        self.windows.pop(key, None)

    async def ping(self) -> None:
        self.pinged += 1


class YieldingCounter:
    """Wraps a counter and hands control back to the event loop around every call.

    A network store (Redis) suspends the caller on each round trip; this gives concurrent
    ``begin_attempt`` calls the same chance to interleave, so a check-then-count race would show.
    ``asyncio.sleep(0)`` is a bare yield to the event loop here, not a wait for anything.
    """

    def __init__(self, inner: FailureCounter) -> None:
        self._inner = inner

    async def add_failure(self, key: str, window_seconds: int) -> tuple[int, float]:
        await asyncio.sleep(0)
        result = await self._inner.add_failure(key, window_seconds)
        await asyncio.sleep(0)
        return result

    async def remove_failure(self, key: str) -> None:
        await asyncio.sleep(0)
        await self._inner.remove_failure(key)

    async def clear(self, key: str) -> None:
        await asyncio.sleep(0)
        await self._inner.clear(key)

    async def ping(self) -> None:
        await self._inner.ping()


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


@pytest.fixture
def memory_throttle(counter: InMemoryFailureCounter) -> LoginThrottle:
    """``LoginThrottle`` on the real in-process counter (on the fake clock)."""
    return LoginThrottle(counter, account_rule=ACCOUNT_RULE, client_rule=CLIENT_RULE)


def other_client(number: int) -> str:
    return f"198.51.100.{number}"


@pytest.mark.unit
class TestThrottleRule:
    def test_key_is_a_prefixed_digest_not_the_subject(self) -> None:
        key = ACCOUNT_RULE.key(EMAIL)

        assert key == f"login-throttle:account:{hashlib.sha256(EMAIL.encode()).hexdigest()[:32]}"
        assert EMAIL not in key

    def test_rules_with_other_prefixes_never_share_keys(self) -> None:
        assert ACCOUNT_RULE.key("x") != CLIENT_RULE.key("x")


@pytest.mark.unit
class TestBeginAttempt:
    async def test_counts_the_attempt_for_the_account_and_the_client_with_their_windows(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        result = await throttle.begin_attempt(EMAIL, CLIENT)

        assert result is None
        assert sorted(fake_counter.added) == sorted(
            [
                (ACCOUNT_RULE.key(EMAIL), ACCOUNT_RULE.window_seconds),
                (CLIENT_RULE.key(CLIENT), CLIENT_RULE.window_seconds),
            ]
        )

    async def test_allows_the_attempt_that_reaches_both_limits(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (ACCOUNT_RULE.max_failures - 1, 100.0)
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (CLIENT_RULE.max_failures - 1, 100.0)

        assert await throttle.begin_attempt(EMAIL, CLIENT) is None

    async def test_first_max_failures_attempts_are_allowed_and_the_next_is_refused_for_the_window(
        self, memory_throttle: LoginThrottle, clock: FakeClock
    ) -> None:
        allowed = [await memory_throttle.begin_attempt(EMAIL, CLIENT) for _ in range(ACCOUNT_RULE.max_failures)]
        clock.advance(100)

        refused = await memory_throttle.begin_attempt(EMAIL, CLIENT)

        assert allowed == [None] * ACCOUNT_RULE.max_failures
        assert refused == ACCOUNT_RULE.window_seconds - 100

    async def test_refused_attempts_still_count(
        self, memory_throttle: LoginThrottle, counter: InMemoryFailureCounter
    ) -> None:
        for _ in range(ACCOUNT_RULE.max_failures + 2):
            await memory_throttle.begin_attempt(EMAIL, CLIENT)

        next_account = await counter.add_failure(ACCOUNT_RULE.key(EMAIL), ACCOUNT_RULE.window_seconds)
        next_client = await counter.add_failure(CLIENT_RULE.key(CLIENT), CLIENT_RULE.window_seconds)
        assert next_account[0] == next_client[0] == ACCOUNT_RULE.max_failures + 3

    async def test_account_over_its_limit_waits_for_its_window_rounded_up(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (ACCOUNT_RULE.max_failures, 41.2)

        assert await throttle.begin_attempt(EMAIL, CLIENT) == 42

    async def test_a_fraction_of_a_second_still_means_wait(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (ACCOUNT_RULE.max_failures, 0.001)

        assert await throttle.begin_attempt(EMAIL, CLIENT) == 1

    async def test_client_over_its_limit_waits_for_its_window(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (CLIENT_RULE.max_failures, 7.0)

        assert await throttle.begin_attempt("someone-else@example.com", CLIENT) == 7

    async def test_a_refused_account_attempt_still_counts_for_the_client(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (ACCOUNT_RULE.max_failures, 10.0)

        assert await throttle.begin_attempt(EMAIL, CLIENT) == 10
        assert fake_counter.windows[CLIENT_RULE.key(CLIENT)][0] == 1

    @pytest.mark.parametrize(
        ("account_left", "client_left"), [(30.0, 300.0), (300.0, 30.0)], ids=["client-longer", "account-longer"]
    )
    async def test_both_over_waits_for_the_longer(
        self, throttle: LoginThrottle, fake_counter: FakeCounter, account_left: float, client_left: float
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (5, account_left)
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (12, client_left)

        assert await throttle.begin_attempt(EMAIL, CLIENT) == 300

    async def test_other_accounts_and_clients_are_not_limited(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (ACCOUNT_RULE.max_failures, 100.0)
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (CLIENT_RULE.max_failures, 100.0)

        assert await throttle.begin_attempt("bob@example.com", other_client(1)) is None

    @pytest.mark.parametrize("spelling", ["ALICE@example.com", " alice@Example.COM ", "Alice@EXAMPLE.com\t"])
    async def test_account_is_normalised(
        self, throttle: LoginThrottle, fake_counter: FakeCounter, spelling: str
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (ACCOUNT_RULE.max_failures, 10.0)

        result = await throttle.begin_attempt(spelling, CLIENT)

        assert (ACCOUNT_RULE.key(EMAIL), ACCOUNT_RULE.window_seconds) in fake_counter.added
        assert result == 10

    async def test_attempts_in_any_spelling_count_for_one_account(self, memory_throttle: LoginThrottle) -> None:
        spellings = ["alice@example.com", "ALICE@EXAMPLE.COM", "  Alice@Example.com\n"]
        allowed = [await memory_throttle.begin_attempt(spelling, CLIENT) for spelling in spellings]

        refused = await memory_throttle.begin_attempt("aLiCe@example.COM ", other_client(1))

        assert allowed == [None] * ACCOUNT_RULE.max_failures
        assert refused == ACCOUNT_RULE.window_seconds

    async def test_a_new_window_allows_attempts_again(self, memory_throttle: LoginThrottle, clock: FakeClock) -> None:
        for _ in range(ACCOUNT_RULE.max_failures + 1):
            await memory_throttle.begin_attempt(EMAIL, CLIENT)
        clock.advance(ACCOUNT_RULE.window_seconds - 1)
        assert await memory_throttle.begin_attempt(EMAIL, other_client(1)) == 1

        clock.advance(1)

        assert await memory_throttle.begin_attempt(EMAIL, other_client(2)) is None

    async def test_ping_reaches_the_store(self, throttle: LoginThrottle, fake_counter: FakeCounter) -> None:
        await throttle.ping()

        assert fake_counter.pinged == 1


@pytest.mark.unit
class TestRecordSuccess:
    async def test_clears_the_account_and_gives_back_the_clients_attempt(
        self, throttle: LoginThrottle, fake_counter: FakeCounter
    ) -> None:
        fake_counter.windows[ACCOUNT_RULE.key(EMAIL)] = (2, 100.0)
        fake_counter.windows[CLIENT_RULE.key(CLIENT)] = (5, 100.0)

        await throttle.record_success(" Alice@Example.com", CLIENT)

        assert fake_counter.cleared == [ACCOUNT_RULE.key(EMAIL)]
        assert fake_counter.removed == [CLIENT_RULE.key(CLIENT)]
        assert ACCOUNT_RULE.key(EMAIL) not in fake_counter.windows
        assert fake_counter.windows[CLIENT_RULE.key(CLIENT)] == (4, 100.0)

    async def test_after_a_success_the_account_has_max_failures_again(self, memory_throttle: LoginThrottle) -> None:
        for _ in range(ACCOUNT_RULE.max_failures - 1):
            await memory_throttle.begin_attempt(EMAIL, CLIENT)
        assert await memory_throttle.begin_attempt(EMAIL, CLIENT) is None
        await memory_throttle.record_success(EMAIL, CLIENT)

        allowed = [await memory_throttle.begin_attempt(EMAIL, CLIENT) for _ in range(ACCOUNT_RULE.max_failures)]

        assert allowed == [None] * ACCOUNT_RULE.max_failures
        assert await memory_throttle.begin_attempt(EMAIL, CLIENT) == ACCOUNT_RULE.window_seconds

    async def test_leaves_the_clients_failures_counted(
        self, memory_throttle: LoginThrottle, counter: InMemoryFailureCounter
    ) -> None:
        for _ in range(2):
            await memory_throttle.begin_attempt(EMAIL, CLIENT)  # two wrong passwords
        await memory_throttle.begin_attempt(EMAIL, CLIENT)

        await memory_throttle.record_success(EMAIL, CLIENT)

        assert await counter.add_failure(ACCOUNT_RULE.key(EMAIL), WINDOW) == (1, WINDOW)
        assert (await counter.add_failure(CLIENT_RULE.key(CLIENT), WINDOW))[0] == 3

    async def test_a_client_that_keeps_succeeding_is_never_refused(self, memory_throttle: LoginThrottle) -> None:
        results = []
        for number in range(3 * CLIENT_RULE.max_failures):
            account = f"user{number}@example.com"
            results.append(await memory_throttle.begin_attempt(account, CLIENT))
            await memory_throttle.record_success(account, CLIENT)

        assert results == [None] * (3 * CLIENT_RULE.max_failures)

    async def test_leaves_other_accounts_alone(
        self, memory_throttle: LoginThrottle, counter: InMemoryFailureCounter
    ) -> None:
        for _ in range(ACCOUNT_RULE.max_failures):
            await memory_throttle.begin_attempt("bob@example.com", CLIENT)

        await memory_throttle.record_success(EMAIL, other_client(1))

        assert await memory_throttle.begin_attempt("bob@example.com", CLIENT) == ACCOUNT_RULE.window_seconds


@pytest.mark.unit
class TestConcurrentAttempts:
    """Attempts race: ``asyncio.gather`` of many ``begin_attempt`` calls on the real in-process counter."""

    @pytest.mark.parametrize("yielding", [False, True], ids=["in-memory", "in-memory-yielding"])
    async def test_concurrent_attempts_on_one_account_let_exactly_max_failures_through(
        self, clock: FakeClock, yielding: bool
    ) -> None:
        rule = ThrottleRule("account", max_failures=5, window_seconds=WINDOW)
        memory = InMemoryFailureCounter(clock=clock)
        throttle = LoginThrottle(
            YieldingCounter(memory) if yielding else memory, account_rule=rule, client_rule=CLIENT_RULE
        )

        results = await asyncio.gather(*(throttle.begin_attempt(EMAIL, other_client(n)) for n in range(50)))

        assert results.count(None) == rule.max_failures
        assert [result for result in results if result is not None] == [WINDOW] * (50 - rule.max_failures)
        assert await memory.add_failure(rule.key(EMAIL), WINDOW) == (51, WINDOW)

    @pytest.mark.parametrize("yielding", [False, True], ids=["in-memory", "in-memory-yielding"])
    async def test_concurrent_attempts_from_one_client_let_exactly_max_failures_through(
        self, clock: FakeClock, yielding: bool
    ) -> None:
        memory = InMemoryFailureCounter(clock=clock)
        throttle = LoginThrottle(
            YieldingCounter(memory) if yielding else memory, account_rule=ACCOUNT_RULE, client_rule=CLIENT_RULE
        )

        results = await asyncio.gather(*(throttle.begin_attempt(f"user{n}@example.com", CLIENT) for n in range(50)))

        assert results.count(None) == CLIENT_RULE.max_failures
        assert set(results) - {None} == {CLIENT_RULE.window_seconds}


ALLOWED = 3


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

    async def test_in_the_last_moment_the_wait_is_one_second(self, limits: RateLimits, clock: FakeClock) -> None:
        """Rounded up to a whole second: never ``Retry-After: 0``, which invites an instant retry."""
        for _ in range(ALLOWED):
            await limits.hit("per-thing", "a")
        clock.advance(WINDOW - 0.25)

        assert await limits.hit("per-thing", "a") == 1

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
