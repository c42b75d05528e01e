"""Serve an ASGI app with uvicorn the way production should: ``python -m servicekit.server app.main:app``.

On SIGTERM (or Ctrl+C) uvicorn stops accepting, lets requests in flight finish for up to
``SHUTDOWN_GRACE_SECONDS`` (then cancels them), runs the app's lifespan shutdown (which closes
the pool), and this process exits 0: a drained shutdown is a clean exit, not a death by signal
(plain uvicorn re-raises the signal, so its exit status says "killed"). Logging is configured
before uvicorn starts (``LOG_LEVEL``, ``LOG_FORMAT``), with uvicorn's access log off; proxy
headers are trusted only from ``--forwarded-allow-ips``.

``--workers N`` (N > 1) runs N server processes on one listening socket under uvicorn's
supervisor, which forwards SIGTERM to each and exits 0 once they have drained (benchmarks use
it; in a container, run one process and let the orchestrator scale).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from servicekit.observability import ObservabilitySettings, configure_logging

#: uvicorn's own exit status when the app does not start.
STARTUP_FAILURE = 3


class _Config(uvicorn.Config):
    """uvicorn's configuration; every process it configures (each worker process of
    ``--workers N`` too) logs through servicekit's handler."""

    def __init__(self, app: str, *, service_name: str, observability: ObservabilitySettings, **options: Any) -> None:
        self.service_name = service_name
        self.observability = observability
        super().__init__(app, **options)

    def configure_logging(self) -> None:
        super().configure_logging()
        configure_logging(self.service_name, self.observability)


def serve(
    app: str,
    *,
    service_name: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ObservabilitySettings | None = None,
    app_dir: str | None = None,
    forwarded_allow_ips: str | None = None,
    workers: int = 1,
) -> int:
    """Run ``app`` (an import string) until SIGTERM or SIGINT; 0 once it has shut down."""
    settings = settings or ObservabilitySettings()
    if app_dir is not None:
        sys.path.insert(0, app_dir)
    config = _Config(
        app,
        service_name=service_name,
        observability=settings,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        workers=workers,
    )
    if workers > 1:
        # The supervisor handles SIGTERM/SIGINT itself: it stops each worker and waits for it.
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    server = uvicorn.Server(config)
    # uvicorn restores these handlers once it has shut down, then raises the signal it received
    # again: with them in place that second delivery is noted instead of killing the process.
    received: list[int] = []
    previous = {sig: signal.signal(sig, _noting(received)) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if server.started else STARTUP_FAILURE


def _noting(received: list[int]) -> Callable[[int, FrameType | None], None]:
    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    return note


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.server", description=__doc__.splitlines()[0])
    parser.add_argument("app", help="import string of the ASGI app, e.g. app.main:app")
    parser.add_argument("--service-name", default="service", help="the service field of every log line")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--app-dir", default=None, help="folder to import the app from (default: current)")
    parser.add_argument(
        "--forwarded-allow-ips", default=None, help="proxies whose X-Forwarded-For is trusted (default: none)"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes on the one socket (default: 1)")
    arguments = parser.parse_args(argv)
    return serve(
        arguments.app,
        service_name=arguments.service_name,
        host=arguments.host,
        port=arguments.port,
        app_dir=arguments.app_dir,
        forwarded_allow_ips=arguments.forwarded_allow_ips,
        workers=arguments.workers,
    )


if __name__ == "__main__":
    raise SystemExit(main())
