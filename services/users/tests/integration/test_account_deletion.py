"""``DELETE /users/me`` over HTTP on PostgreSQL: a hard delete, given the current password. Its
sessions end, its profile is 404, its posts go, and its email can register again."""

from __future__ import annotations

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.models.account_token import AccountToken, TokenPurpose
from app.models.post import Post
from app.models.token import RefreshToken, TokenFamily
from app.models.user import User
from tests.conftest import PASSWORD
from tests.support.account import issue_token
from tests.support.auth import REFRESH, assert_throttled, bearer, login, login_pair, me_status
from tests.support.configured import registration

ME = "/api/v1/users/me"


async def delete_me(client: AsyncClient, access_token: str, password: str = PASSWORD) -> Response:
    return await client.request("DELETE", ME, json={"current_password": password}, headers=bearer(access_token))


async def rows(session: AsyncSession, model: type[object]) -> int:
    return int((await session.scalar(select(func.count()).select_from(model))) or 0)


@pytest.mark.integration
class TestDeleteAccount:
    async def test_every_session_ends(self, client: AsyncClient, user: User) -> None:
        callers, other = await login_pair(client, user.email), await login_pair(client, user.email)

        response = await delete_me(client, callers["access_token"])

        assert response.status_code == 204, response.text
        assert response.content == b""
        for session in (callers, other):
            assert await me_status(client, session["access_token"]) == 401
            assert (await client.post(REFRESH, json={"refresh_token": session["refresh_token"]})).status_code == 401
        assert (await login(client, user.email)).status_code == 401

    async def test_the_profile_is_not_found_and_the_posts_are_gone(self, client: AsyncClient, user: User) -> None:
        access = (await login_pair(client, user.email))["access_token"]
        post = await client.post(
            "/api/v1/posts", json={"title": "t", "content": "c", "published": True}, headers=bearer(access)
        )

        await delete_me(client, access)

        assert (await client.get(f"/api/v1/users/{user.id}")).status_code == 404
        assert (await client.get(f"/api/v1/users/{user.id}/posts")).status_code == 404
        assert (await client.get(f"/api/v1/posts/{post.json()['id']}")).status_code == 404
        assert post.json()["id"] not in {item["id"] for item in (await client.get("/api/v1/posts")).json()["items"]}

    async def test_nothing_of_the_account_is_left_in_the_database(
        self, client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        access = (await login_pair(client, user.email))["access_token"]
        await client.post("/api/v1/posts", json={"title": "t", "content": "c"}, headers=bearer(access))
        await issue_token(db_session, user, TokenPurpose.RESET_PASSWORD)
        await db_session.commit()

        await delete_me(client, access)

        db_session.expunge_all()
        assert [await rows(db_session, model) for model in (User, Post, TokenFamily, RefreshToken, AccountToken)] == [
            0,
            0,
            0,
            0,
            0,
        ]

    async def test_the_email_and_username_can_register_again(self, client: AsyncClient) -> None:
        account = registration()
        assert (await client.post("/api/v1/users", json=account)).status_code == 201
        access = (await login_pair(client, account["email"]))["access_token"]

        await delete_me(client, access)
        again = await client.post("/api/v1/users", json=account)

        assert again.status_code == 201, again.text
        assert (await login(client, account["email"])).status_code == 200

    async def test_a_wrong_password_is_a_403_and_deletes_nothing(self, client: AsyncClient, user: User) -> None:
        access = (await login_pair(client, user.email))["access_token"]

        response = await delete_me(client, access, "Wrong-password-1")

        assert response.status_code == 403
        assert response.json()["code"] == "current_password_invalid"
        assert await me_status(client, access) == 200

    async def test_guesses_lock_the_account_like_failed_logins(self, client: AsyncClient, user: User) -> None:
        access = (await login_pair(client, user.email))["access_token"]
        for index in range(get_settings().login_max_failures_per_account):
            assert (await delete_me(client, access, f"Wrong-{index}-password")).status_code == 403

        assert_throttled(await delete_me(client, access))
        assert await me_status(client, access) == 200

    async def test_needs_a_signed_in_user(self, client: AsyncClient) -> None:
        assert (await client.request("DELETE", ME, json={"current_password": PASSWORD})).status_code == 401

    @pytest.mark.parametrize(
        "body",
        [None, {}, {"current_password": ""}, {"current_password": PASSWORD, "hard": False}],
        ids=["no-body", "empty", "empty-password", "extra-field"],
    )
    async def test_a_malformed_body_is_a_422(
        self, client: AsyncClient, auth_headers: dict[str, str], body: object
    ) -> None:
        response = await client.request("DELETE", ME, json=body, headers=auth_headers)

        assert response.status_code == 422
        assert (await client.get(ME, headers=auth_headers)).status_code == 200
