"""A users service that accepts connections and never answers: 503 within the default deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from app.clients.users import create_users_client
from app.config import Settings
from app.exceptions import UsersServiceUnavailableError

pytestmark = pytest.mark.integration

#: What the issue promises for POST /orders with the default settings.
PROMISED_SECONDS = 5.0


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that listens (connections complete in the kernel's backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


async def test_a_hanging_users_service_is_unavailable_within_the_default_deadline(silent_port: int) -> None:
    defaults = Settings(users_service_url=f"http://127.0.0.1:{silent_port}")  # default timeouts and deadline
    client = create_users_client(defaults)
    started = time.monotonic()
    try:
        with pytest.raises(UsersServiceUnavailableError):
            await client.current_user("token")
    finally:
        await client.aclose()

    assert time.monotonic() - started < PROMISED_SECONDS
