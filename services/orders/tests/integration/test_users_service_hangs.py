"""A users service that accepts connections and never answers: 503 within the default deadline."""

from __future__ import annotations

import asyncio
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
def silent_listener() -> Iterator[socket.socket]:
    """A socket that listens (connections complete in the kernel's backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener


@pytest.fixture
def silent_port(silent_listener: socket.socket) -> int:
    return int(silent_listener.getsockname()[1])


def connections_made(listener: socket.socket) -> int:
    """How many connections reached the listener (each waits in its backlog until accepted)."""
    listener.settimeout(0)  # non-blocking: accept() raises once the backlog is empty
    count = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


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


async def test_calls_beyond_the_connection_limit_open_no_connection(
    silent_listener: socket.socket, silent_port: int
) -> None:
    """However many calls wait, at most USERS_MAX_CONNECTIONS connections go to the users service."""
    settings = Settings(
        users_service_url=f"http://127.0.0.1:{silent_port}",
        users_max_connections=1,
        users_retry_attempts=1,
        users_connect_timeout_seconds=0.1,  # also the wait for a free connection
        users_deadline_seconds=1.5,
    )
    client = create_users_client(settings)
    try:
        outcomes = await asyncio.gather(client.current_user("a"), client.current_user("b"), return_exceptions=True)
    finally:
        await client.aclose()

    assert [type(outcome) for outcome in outcomes] == [UsersServiceUnavailableError] * 2
    assert connections_made(silent_listener) == 1
