"""Redis state a test changes, put back afterwards."""

from __future__ import annotations

from redis.asyncio import Redis


class SavedKeys:
    """Redis keys a test is about to touch, put back afterwards exactly as they were (value and TTL)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._saved: dict[str, tuple[bytes | None, int]] = {}

    async def save(self, *keys: str) -> None:
        for key in keys:
            if key not in self._saved:
                self._saved[key] = (await self._redis.dump(key), await self._redis.pttl(key))

    async def restore(self) -> None:
        for key, (dumped, ttl_ms) in self._saved.items():
            if dumped is None:
                await self._redis.delete(key)
            else:
                await self._redis.restore(key, max(ttl_ms, 0), dumped, replace=True)
