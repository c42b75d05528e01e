"""Local network helpers shared by the tests and the benchmarks."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http_ok(
    url: str,
    process: subprocess.Popen[bytes],
    *,
    deadline_seconds: float = 30.0,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``url`` until it answers 200; fail at once if ``process`` exits, or at the deadline.

    ``describe`` adds context (e.g. the server's log) to the error.
    """
    deadline = time.monotonic() + deadline_seconds
    with httpx.Client(timeout=2.0) as http:
        while True:
            try:
                if http.get(url).status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                msg = f"{url} not ready within {deadline_seconds}s\n{describe()}"
                raise TimeoutError(msg)
            try:  # the poll interval, which also notices a process that died
                returncode = process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            msg = f"process exited with {returncode} before {url} was ready\n{describe()}"
            raise RuntimeError(msg)
