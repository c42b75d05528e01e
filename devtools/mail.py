"""A local SMTP server (aiosmtpd, on a thread of this process) for the system run on one machine.

``make run`` prints every email the users service sends (the verification and password-reset
links can be followed from the console); the benchmark discards them. Without a server, every
email would meet a refused connection and an error logged with its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, TextIO

from aiosmtpd.controller import Controller

from devtools.net import free_port

#: What the server does with each message it accepts.
MessageHandler = Callable[[EmailMessage], None]


class _Accept:
    def __init__(self, on_message: MessageHandler) -> None:
        self._on_message = on_message

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(message, EmailMessage)  # noqa: S101 - what policy=default parses into
        self._on_message(message)
        return "250 Message accepted for delivery"


def discard(_message: EmailMessage) -> None:
    """Keep nothing."""


def printer(out: TextIO = sys.stdout) -> MessageHandler:
    """Write each message's recipients, subject and plain-text body to ``out``."""

    def print_message(message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else "(no plain-text part)"
        out.write(f"\n--- email to {message['To']}: {message['Subject']}\n{text.rstrip()}\n---\n")
        out.flush()

    return print_message


@contextmanager
def local_mail_server(on_message: MessageHandler = discard) -> Iterator[dict[str, str]]:
    """Run the server while the block runs; yield the users service's settings that point at it."""
    port = free_port()
    controller = Controller(_Accept(on_message), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    finally:
        controller.stop()
