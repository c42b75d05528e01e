"""Serve an ASGI app for real over HTTP: uvicorn in a background thread on a free local port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0


class _ThreadedServer(uvicorn.Server):
    """A uvicorn server that signals when its start-up (lifespan included) has finished."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_finished = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.startup_finished.set()


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` (lifespan included) until the block ends; yields its base URL.

    The listening socket is bound before the server starts, so the port is known up front and
    never raced for; the block starts only once the app's lifespan start-up has completed.
    uvicorn's logging configuration is left alone, so the test process's logging is untouched.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    port = int(listener.getsockname()[1])
    config = uvicorn.Config(app, lifespan="on", ws="none", log_config=None, access_log=False)
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        if not server.startup_finished.wait(STARTUP_TIMEOUT_SECONDS) or not server.started:
            msg = f"the app did not start on {host}:{port} within {STARTUP_TIMEOUT_SECONDS}s"
            raise RuntimeError(msg)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)
        listener.close()
        if thread.is_alive():
            msg = f"the server on {host}:{port} did not stop within {SHUTDOWN_TIMEOUT_SECONDS}s"
            raise RuntimeError(msg)
