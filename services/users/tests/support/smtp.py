"""A real SMTP server, in process (aiosmtpd), that keeps every message it receives."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class RecordingHandler:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str, subject: str | None = None) -> list[Message]:
        """Messages to ``address`` (with this subject, if given), oldest first."""
        return [
            message
            for message in self.messages
            if message["To"] == address and (subject is None or message["Subject"] == subject)
        ]

    async def wait_for_message_to(
        self, address: str, within_seconds: float = 5.0, *, subject: str | None = None
    ) -> Message:
        """The first message to ``address`` (with this subject, if given), waiting for it up to
        ``within_seconds``."""
        deadline = time.monotonic() + within_seconds
        while not self.to(address, subject):
            if time.monotonic() > deadline:
                msg = f"no email to {address} within {within_seconds}s"
                raise TimeoutError(msg)
            await asyncio.sleep(0.01)
        return self.to(address, subject)[0]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.handler = RecordingHandler()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
