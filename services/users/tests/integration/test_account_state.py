"""What deactivating an account or changing its email does to tokens and profiles."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import User
from tests.conftest import PASSWORD
from tests.factories import PostFactory, UserFactory


async def _login(client: AsyncClient, user: User) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    tokens: dict[str, str] = response.json()
    return tokens


@pytest.mark.integration
class TestDeactivatedAccount:
    async def test_refresh_is_refused_and_the_family_stays_revoked(
        self, client: AsyncClient, db_session: AsyncSession, user: User
    ) -> None:
        tokens = await _login(client, user)
        user.is_active = False
        await db_session.commit()

        refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        user.is_active = True
        await db_session.commit()
        after_reactivation = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

        assert refused.status_code == 401
        assert after_reactivation.status_code == 401

    async def test_public_profile_is_not_found(self, client: AsyncClient, db_session: AsyncSession, user: User) -> None:
        user.is_active = False
        await db_session.commit()

        response = await client.get(f"/api/v1/users/{user.id}")

        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"

    async def test_post_list_is_not_found(self, client: AsyncClient, db_session: AsyncSession, user: User) -> None:
        user.is_active = False
        await db_session.commit()

        response = await client.get(f"/api/v1/users/{user.id}/posts")

        assert response.status_code == 404


@pytest.mark.integration
class TestADeactivatedAccountsPostsVanish:
    async def test_from_the_public_list_and_by_id(
        self, client: AsyncClient, db_session: AsyncSession, user: User
    ) -> None:
        other = await UserFactory.create(db_session)
        shown = await PostFactory.create(db_session, other.id, published=True)
        hidden = await PostFactory.create(db_session, user.id, published=True)  # the newest
        user.is_active = False
        await db_session.commit()

        listing = await client.get("/api/v1/posts", params={"limit": 1})
        by_id = await client.get(f"/api/v1/posts/{hidden.id}")

        assert [item["id"] for item in listing.json()["items"]] == [shown.id]  # the page is filled by others
        assert by_id.status_code == 404
        assert by_id.json()["code"] == "post_not_found"
        assert (await client.get(f"/api/v1/posts/{shown.id}")).status_code == 200

    async def test_and_come_back_with_reactivation(
        self, client: AsyncClient, db_session: AsyncSession, user: User
    ) -> None:
        post = await PostFactory.create(db_session, user.id, published=True)
        user.is_active = False
        await db_session.commit()
        assert (await client.get(f"/api/v1/posts/{post.id}")).status_code == 404
        assert (await client.get("/api/v1/posts")).json()["items"] == []

        user.is_active = True
        await db_session.commit()

        assert (await client.get(f"/api/v1/posts/{post.id}")).status_code == 200
        assert [item["id"] for item in (await client.get("/api/v1/posts")).json()["items"]] == [post.id]


@pytest.mark.integration
class TestADeletedAccountsPostsVanish:
    async def test_from_the_public_list_and_by_id(
        self, client: AsyncClient, db_session: AsyncSession, user: User
    ) -> None:
        post = await PostFactory.create(db_session, user.id, published=True)

        await db_session.delete(user)
        await db_session.commit()

        assert (await client.get(f"/api/v1/posts/{post.id}")).status_code == 404
        assert (await client.get("/api/v1/posts")).json()["items"] == []


@pytest.mark.integration
class TestEmailChange:
    async def test_a_new_email_is_unverified(
        self, client: AsyncClient, db_session: AsyncSession, user: User, auth_headers: dict[str, str]
    ) -> None:
        user.is_verified = True
        await db_session.commit()

        response = await client.patch(
            f"/api/v1/users/{user.id}",
            json={"email": "brand.new@example.com", "current_password": PASSWORD},
            headers=auth_headers,
        )

        assert response.status_code == 200
        assert response.json()["email"] == "brand.new@example.com"
        assert response.json()["is_verified"] is False

    async def test_the_same_email_in_another_case_keeps_verification(
        self, client: AsyncClient, db_session: AsyncSession, user: User, auth_headers: dict[str, str]
    ) -> None:
        user.is_verified = True
        await db_session.commit()

        response = await client.patch(
            f"/api/v1/users/{user.id}",
            json={"email": user.email.upper(), "current_password": PASSWORD},
            headers=auth_headers,
        )

        assert response.status_code == 200
        assert response.json()["is_verified"] is True

    async def test_a_new_email_ends_every_other_session(self, client: AsyncClient, user: User) -> None:
        this_session = await _login(client, user)
        other_session = await _login(client, user)
        this_headers = {"Authorization": f"Bearer {this_session['access_token']}"}
        other_headers = {"Authorization": f"Bearer {other_session['access_token']}"}

        changed = await client.patch(
            f"/api/v1/users/{user.id}",
            json={"email": "moved.elsewhere@example.com", "current_password": PASSWORD},
            headers=this_headers,
        )

        assert changed.status_code == 200
        assert (await client.get("/api/v1/users/me", headers=other_headers)).status_code == 401
        refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": other_session["refresh_token"]})
        assert refused.status_code == 401
        assert (await client.get("/api/v1/users/me", headers=this_headers)).status_code == 200
        kept = await client.post("/api/v1/auth/refresh", json={"refresh_token": this_session["refresh_token"]})
        assert kept.status_code == 200

    async def test_a_new_username_keeps_every_session(self, client: AsyncClient, user: User) -> None:
        this_session = await _login(client, user)
        other_session = await _login(client, user)

        changed = await client.patch(
            f"/api/v1/users/{user.id}",
            json={"username": "renamed_only"},
            headers={"Authorization": f"Bearer {this_session['access_token']}"},
        )

        assert changed.status_code == 200
        other_headers = {"Authorization": f"Bearer {other_session['access_token']}"}
        assert (await client.get("/api/v1/users/me", headers=other_headers)).status_code == 200
