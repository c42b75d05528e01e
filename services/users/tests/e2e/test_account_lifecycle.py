"""The account lifecycle end to end, over a real process (``python -m servicekit.server``, production
settings), real HTTP, a real SMTP server and PostgreSQL: register, follow the verification email,
forget the password, reset it from the email, see the old sessions refused, log in with the new
password, delete the account. The process logs everything at DEBUG; no token of an emailed link,
no password and no session token may appear in that output.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import unique_email, unique_username
from tests.support.account import body_part
from tests.support.databases import TRUNCATE_ALL_TABLES
from tests.support.server_process import production_env, running_server
from tests.support.smtp import RecordingHandler

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API = "/api/v1"
FRONTEND_URL = "https://app.example.test/account"
DELIVERY_DEADLINE_SECONDS = 15.0


@pytest.fixture
async def truncated_afterwards(test_engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    async with test_engine.begin() as connection:
        await connection.execute(TRUNCATE_ALL_TABLES)


def token_of_link(message: Message, path: str) -> str:
    """Follow the link as a browser would: the token is what the fragment of the link carries."""
    text = body_part(message, "text/plain")
    prefix = f"{FRONTEND_URL}/{path}#token="
    [line] = [line for line in text.splitlines() if line.startswith(prefix)]
    return line.removeprefix(prefix)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def log_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post(f"{API}/auth/login", json={"email": email, "password": password})


async def session_is_refused(http: httpx.AsyncClient, tokens: dict[str, Any]) -> bool:
    me = await http.get(f"{API}/users/me", headers=bearer(tokens))
    refreshed = await http.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    return me.status_code == refreshed.status_code == 401


async def test_register_verify_forget_reset_log_in_and_delete(
    truncated_afterwards: None, database_url: str, mailbox: RecordingHandler, tmp_path: Path
) -> None:
    email, username = unique_email(), unique_username()
    old_password, new_password = f"Old-{secrets.token_hex(6)}!", f"New-{secrets.token_hex(6)}!"
    env = production_env(database_url, FRONTEND_URL=FRONTEND_URL, LOG_LEVEL="DEBUG", LOG_FORMAT="json")
    secrets_handled = [old_password, new_password]

    with running_server(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as http:
            # Register, and follow the verification link that was emailed.
            account = {"email": email, "username": username, "password": old_password}
            assert (await http.post(f"{API}/users", json=account)).status_code == 201
            welcome = await mailbox.wait_for_message_to(email, DELIVERY_DEADLINE_SECONDS)
            verification = token_of_link(welcome, "verify-email")
            assert (await http.post(f"{API}/auth/verify-email", json={"token": verification})).status_code == 200
            first = (await log_in(http, email, old_password)).json()
            second = (await log_in(http, email, old_password)).json()
            me = await http.get(f"{API}/users/me", headers=bearer(first))
            assert me.json()["is_verified"] is True

            # Forget the password: the same answer for an unknown address, which gets no email.
            unknown = unique_email()
            asked_unknown = await http.post(f"{API}/auth/forgot-password", json={"email": unknown})
            asked = await http.post(f"{API}/auth/forgot-password", json={"email": email})
            assert asked.status_code == asked_unknown.status_code == 202
            assert asked.json() == asked_unknown.json()
            reset_email = await mailbox.wait_for_message_to(
                email, DELIVERY_DEADLINE_SECONDS, subject="Reset your password"
            )
            assert mailbox.to(unknown) == []

            # Reset it from the email: every session ends.
            reset_token = token_of_link(reset_email, "reset-password")
            reset = await http.post(
                f"{API}/auth/reset-password", json={"token": reset_token, "new_password": new_password}
            )
            assert reset.status_code == 200, reset.text
            assert await session_is_refused(http, first)
            assert await session_is_refused(http, second)
            assert (await log_in(http, email, old_password)).status_code == 401
            again = await http.post(
                f"{API}/auth/reset-password", json={"token": reset_token, "new_password": "Third-passphrase-3"}
            )
            assert again.status_code == 400

            # The new password logs in; then the account is deleted, and its email is free again.
            current = await log_in(http, email, new_password)
            assert current.status_code == 200
            deleted = await http.request(
                "DELETE", f"{API}/users/me", json={"current_password": new_password}, headers=bearer(current.json())
            )
            assert deleted.status_code == 204
            assert await session_is_refused(http, current.json())
            assert (await http.get(f"{API}/users/{me.json()['id']}")).status_code == 404
            assert (await log_in(http, email, new_password)).status_code == 401
            assert (await http.post(f"{API}/users", json=account)).status_code == 201
        secrets_handled += [verification, reset_token, *first.values(), *second.values(), *current.json().values()]
        exit_status = server.stop()

    output = server.output()
    assert exit_status == 0, output
    assert any(json.loads(line)["level"] == "DEBUG" for line in output.splitlines())
    for secret in (value for value in secrets_handled if isinstance(value, str) and len(value) > 8):
        assert secret not in output, f"a secret of {len(secret)} characters is in the log"
