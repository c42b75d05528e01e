"""Login throttling and rate limits: fixed-window counters per account, per client, per session.

Two adapters share one port: Redis (shared by every instance, used when ``REDIS_URL`` is set)
and an in-process store (one instance only, bounded in size).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """At most ``max_failures`` failures per ``window_seconds`` for keys with this prefix."""

    prefix: str
    max_failures: int
    window_seconds: int
    namespace: str = "login-throttle"

    def key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        return f"{self.namespace}:{self.prefix}:{digest}"


class FailureCounter(Protocol):
    """The storage port: counts failures per key within a window."""

    async def add_failure(self, key: str, window_seconds: int) -> tuple[int, float]:
        """Count one more failure, atomically; the new count and the seconds left in the window."""
        ...

    async def remove_failure(self, key: str) -> None:
        """Take one failure back (never below zero)."""
        ...

    async def clear(self, key: str) -> None: ...

    async def ping(self) -> None: ...


class InMemoryFailureCounter:
    """Process-local counters; expired windows are dropped and the table is bounded."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._max_keys = max_keys
        self._clock = clock

    async def add_failure(self, key: str, window_seconds: int) -> tuple[int, float]:
        # No await in here: on one event loop the read-modify-write is atomic.
        now = self._clock()
        failures, ends_at = self._windows.get(key, (0, now))
        if ends_at <= now:
            failures, ends_at = 0, now + window_seconds
        if key not in self._windows and len(self._windows) >= self._max_keys:
            self._evict_expired(now)
        self._windows[key] = (failures + 1, ends_at)
        return failures + 1, ends_at - now

    async def remove_failure(self, key: str) -> None:
        failures, ends_at = self._windows.get(key, (0, 0.0))
        if failures <= 1:
            self._windows.pop(key, None)
        else:
            self._windows[key] = (failures - 1, ends_at)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)

    async def ping(self) -> None:
        return None

    def _evict_expired(self, now: float) -> None:
        for stale in [key for key, (_, ends_at) in self._windows.items() if ends_at <= now]:
            del self._windows[stale]
        while len(self._windows) >= self._max_keys:
            self._windows.pop(next(iter(self._windows)))


#: DECR that never leaves a zero, negative or TTL-less key behind (one atomic step in Redis).
_DECREMENT_OR_DELETE = """
local count = redis.call('DECR', KEYS[1])
if count <= 0 then redis.call('DEL', KEYS[1]) end
return count
"""


class RedisFailureCounter:
    """Counters in Redis, shared by every instance of the service."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def add_failure(self, key: str, window_seconds: int) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window_seconds, nx=True)
            pipe.incr(key)
            pipe.pttl(key)
            _, count, ttl_ms = await pipe.execute()
        return int(count), max(int(ttl_ms), 0) / 1000

    async def remove_failure(self, key: str) -> None:
        await self._redis.eval(_DECREMENT_OR_DELETE, 1, key)

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)

    async def ping(self) -> None:
        await self._redis.ping()


class LoginThrottle:
    """Refuses logins for an account or a client that failed too often in the window.

    Every attempt is counted *before* the password is checked, atomically, so concurrent guesses
    cannot all slip past the check; a successful login gives its count back.
    """

    def __init__(
        self,
        counter: FailureCounter,
        *,
        account_rule: ThrottleRule,
        client_rule: ThrottleRule,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        """``on_refusal`` is told the rule's prefix each time an attempt is over its limit (metrics)."""
        self._counter = counter
        self._account_rule = account_rule
        self._client_rule = client_rule
        self._on_refusal = on_refusal

    def _account_key(self, account: str) -> str:
        return self._account_rule.key(account.strip().lower())

    async def begin_attempt(self, account: str, client: str) -> int | None:
        """Count an attempt; the seconds to wait if it is over a limit, else None (go ahead)."""
        waits = [
            await self._count(self._account_rule, self._account_key(account)),
            await self._count(self._client_rule, self._client_rule.key(client)),
        ]
        refused = [wait for wait in waits if wait is not None]
        return max(refused) if refused else None

    async def begin_account_attempt(self, account: str) -> int | None:
        """Count a password guess against the account only (e.g. the current-password check of
        a signed-in user): the same counter and limit as its logins."""
        return await self._count(self._account_rule, self._account_key(account))

    async def record_success(self, account: str, client: str) -> None:
        """A correct password clears the account's count and takes back the client's attempt."""
        await self.record_account_success(account)
        await self._counter.remove_failure(self._client_rule.key(client))

    async def record_account_success(self, account: str) -> None:
        await self._counter.clear(self._account_key(account))

    async def _count(self, rule: ThrottleRule, key: str) -> int | None:
        attempts, remaining = await self._counter.add_failure(key, rule.window_seconds)
        if attempts <= rule.max_failures:
            return None
        if self._on_refusal is not None:
            self._on_refusal(rule.prefix)
        return math.ceil(remaining)

    async def ping(self) -> None:
        await self._counter.ping()


class RateLimits:
    """Counts requests per subject against named limits (``app.services.limits.Limit``).

    Every request counts, successful or not: these bound floods and guesses, not only failures.
    """

    def __init__(self, counter: FailureCounter, rules: Mapping[str, tuple[int, int]]) -> None:
        """``rules`` maps a limit's name to (requests allowed, window in seconds)."""
        self._counter = counter
        self._rules = {
            name: ThrottleRule(name, allowed, window, namespace="rate-limit")
            for name, (allowed, window) in rules.items()
        }

    async def hit(self, limit: str, subject: str) -> int | None:
        rule = self._rules[limit]
        count, remaining = await self._counter.add_failure(rule.key(subject), rule.window_seconds)
        return None if count <= rule.max_failures else max(1, math.ceil(remaining))
