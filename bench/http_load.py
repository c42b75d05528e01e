"""A deliberately tiny HTTP/1.1 keep-alive load generator (asyncio streams, no parsing library).

It spends far less CPU per request than an HTTP client library, so on a small machine the
server, not the load generator, is what gets measured.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def _worker(host: str, port: int, path: str, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    try:
        while time.monotonic() < stop_at:
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            counts[0 if status_line.split()[1] == b"200" else 1] += 1
    finally:
        writer.close()


async def run_load(host: str, port: int, path: str, *, seconds: float, connections: int) -> LoadResult:
    counts = [0, 0]
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(*(_worker(host, port, path, stop_at, counts) for _ in range(connections)))
    return LoadResult(requests=counts[0], errors=counts[1], seconds=time.monotonic() - started)
