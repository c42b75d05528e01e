"""An SMTP server for the benchmark that accepts every message and keeps none.

Each registration emails a verification link. Without a server to take it, every registration
would also pay for a refused connection and an error logged with its traceback, which a
deployment with a mail relay never pays.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from devtools.net import free_port


class _Discard:
    async def handle_DATA(self, *_hook_arguments: Any) -> str:  # noqa: N802 - aiosmtpd's hook name (server, session, envelope)
        return "250 Message accepted for delivery"


@contextmanager
def mail_sink() -> Iterator[dict[str, str]]:
    """Runs the server (on a thread of this process) while the block runs; yields the users
    service's settings that point at it."""
    port = free_port()
    controller = Controller(_Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    finally:
        controller.stop()
