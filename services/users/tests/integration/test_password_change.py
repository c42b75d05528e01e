"""``POST /users/me/password`` over HTTP on PostgreSQL: the current password is checked (and
counted like a failed login), the policy applied, every other session ended, the caller's kept."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient, Response

from app.config import get_settings
from app.models.user import User
from tests.conftest import PASSWORD
from tests.support.account import NEW_PASSWORD
from tests.support.auth import REFRESH, assert_throttled, bearer, login, login_pair, me_status
from tests.support.smtp import RecordingHandler

CHANGE_PASSWORD = "/api/v1/users/me/password"


async def change(client: AsyncClient, access_token: str, current: str, new: str = NEW_PASSWORD) -> Response:
    body = {"current_password": current, "new_password": new}
    return await client.post(CHANGE_PASSWORD, json=body, headers=bearer(access_token))


async def refreshes(client: AsyncClient, session: dict[str, Any]) -> bool:
    return (await client.post(REFRESH, json={"refresh_token": session["refresh_token"]})).status_code == 200


@pytest.mark.integration
class TestChangePassword:
    async def test_the_new_password_logs_in_and_the_old_one_no_longer(self, client: AsyncClient, user: User) -> None:
        session = await login_pair(client, user.email)

        response = await change(client, session["access_token"], PASSWORD)

        assert response.status_code == 200, response.text
        assert response.json() == {"detail": "Password changed"}
        assert (await login(client, user.email, NEW_PASSWORD)).status_code == 200
        assert (await login(client, user.email, PASSWORD)).status_code == 401

    async def test_every_other_session_ends_and_the_callers_stays(self, client: AsyncClient, user: User) -> None:
        callers, other = await login_pair(client, user.email), await login_pair(client, user.email)

        await change(client, callers["access_token"], PASSWORD)

        assert await me_status(client, other["access_token"]) == 401
        assert await refreshes(client, other) is False
        assert await me_status(client, callers["access_token"]) == 200
        assert await refreshes(client, callers) is True

    async def test_a_wrong_current_password_is_a_403_and_changes_nothing(self, client: AsyncClient, user: User) -> None:
        callers, other = await login_pair(client, user.email), await login_pair(client, user.email)

        response = await change(client, callers["access_token"], "Wrong-password-1")

        assert response.status_code == 403
        assert response.json()["code"] == "current_password_invalid"
        assert await me_status(client, other["access_token"]) == 200
        assert (await login(client, user.email, PASSWORD)).status_code == 200

    async def test_wrong_current_passwords_lock_the_account_like_failed_logins(
        self, client: AsyncClient, user: User
    ) -> None:
        access = (await login_pair(client, user.email))["access_token"]
        limit = get_settings().login_max_failures_per_account
        wrong = [await change(client, access, f"Wrong-{index}-password") for index in range(limit)]

        right = await change(client, access, PASSWORD)

        assert {response.status_code for response in wrong} == {403}
        assert_throttled(right)
        assert_throttled(await login(client, user.email))

    async def test_failed_logins_count_against_the_check(self, client: AsyncClient, user: User) -> None:
        access = (await login_pair(client, user.email))["access_token"]
        for index in range(get_settings().login_max_failures_per_account):
            await login(client, user.email, f"Wrong-{index}-password")

        assert_throttled(await change(client, access, PASSWORD))

    @pytest.mark.parametrize(
        ("new", "code"),
        [("password123", "validation_error"), ("Short1!", "validation_error"), ("x" * 129, "validation_error")],
        ids=["common", "short", "long"],
    )
    async def test_the_policy_of_registration_applies(
        self, client: AsyncClient, auth_headers: dict[str, str], new: str, code: str
    ) -> None:
        body = {"current_password": PASSWORD, "new_password": new}

        response = await client.post(CHANGE_PASSWORD, json=body, headers=auth_headers)

        assert response.status_code == 422
        assert response.json()["code"] == code

    async def test_the_accounts_own_email_is_refused(self, client: AsyncClient, user: User) -> None:
        access = (await login_pair(client, user.email))["access_token"]

        response = await change(client, access, PASSWORD, user.email.upper())

        assert response.status_code == 422
        assert response.json()["code"] == "weak_password"

    async def test_the_owner_is_told_without_a_link(
        self, client: AsyncClient, user: User, mailbox: RecordingHandler
    ) -> None:
        access = (await login_pair(client, user.email))["access_token"]

        await change(client, access, PASSWORD)

        notice = await mailbox.wait_for_message_to(user.email, subject="Your password was changed")
        assert "#token=" not in notice.as_string()

    async def test_needs_a_signed_in_user(self, client: AsyncClient) -> None:
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}

        assert (await client.post(CHANGE_PASSWORD, json=body)).status_code == 401

    @pytest.mark.parametrize(
        "body",
        [
            {"new_password": NEW_PASSWORD},
            {"current_password": PASSWORD},
            {"current_password": "", "new_password": NEW_PASSWORD},
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "is_superuser": True},
        ],
        ids=["no-current", "no-new", "empty-current", "extra-field"],
    )
    async def test_a_malformed_body_is_a_422(
        self, client: AsyncClient, auth_headers: dict[str, str], body: dict[str, object]
    ) -> None:
        assert (await client.post(CHANGE_PASSWORD, json=body, headers=auth_headers)).status_code == 422
