"""The current-password check of an email change is throttled like logins (per account).

Whoever holds a stolen access token must not be able to brute-force the password there, then
take the account over by changing its email.
"""

from __future__ import annotations

import pytest
from httpx import AsyncClient, Response

from app.config import get_settings
from app.models.user import User
from tests.conftest import PASSWORD
from tests.factories import unique_email
from tests.support.auth import assert_throttled, login


async def change_email(client: AsyncClient, user: User, headers: dict[str, str], password: str) -> Response:
    body = {"email": unique_email(), "current_password": password}
    return await client.patch(f"/api/v1/users/{user.id}", json=body, headers=headers)


@pytest.mark.integration
class TestCurrentPasswordThrottling:
    async def test_wrong_passwords_past_the_account_limit_get_429(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        limit = get_settings().login_max_failures_per_account
        wrong = [await change_email(client, user, auth_headers, f"Wrong-{index}-pass") for index in range(limit)]

        throttled = await change_email(client, user, auth_headers, PASSWORD)

        assert [response.status_code for response in wrong] == [403] * limit
        assert {response.json()["code"] for response in wrong} == {"current_password_invalid"}
        assert_throttled(throttled)  # even the right password: the account is locked for the window
        assert (await client.get("/api/v1/users/me", headers=auth_headers)).json()["email"] == user.email

    async def test_guesses_here_lock_the_accounts_login_too(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        for index in range(get_settings().login_max_failures_per_account):
            await change_email(client, user, auth_headers, f"Wrong-{index}-pass")

        assert_throttled(await login(client, user.email))

    async def test_failed_logins_count_against_the_current_password_check(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        for index in range(get_settings().login_max_failures_per_account):
            assert (await login(client, user.email, f"Wrong-{index}-pass")).status_code == 401

        assert_throttled(await change_email(client, user, auth_headers, PASSWORD))

    async def test_the_right_password_within_the_limit_changes_the_email(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        limit = get_settings().login_max_failures_per_account
        for index in range(limit - 1):
            await change_email(client, user, auth_headers, f"Wrong-{index}-pass")

        changed = await change_email(client, user, auth_headers, PASSWORD)

        assert changed.status_code == 200, changed.text
