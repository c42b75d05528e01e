"""``/admin`` over HTTP on PostgreSQL: superusers only (401 anonymous, 403 anyone else), the list
and its filters, deactivation ending every session at once, and no request making a superuser."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import User
from app.repositories.user_repository import UserRepository
from app.utils.password import hash_password
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.support.auth import REFRESH, bearer, login, login_pair, me_status
from tests.support.configured import registration

ADMIN_USERS = "/api/v1/admin/users"


@pytest.fixture
async def superuser(db_session: AsyncSession) -> User:
    return await UserFactory.create(db_session, hashed_password=hash_password(PASSWORD), is_superuser=True)


@pytest.fixture
async def admin_headers(client: AsyncClient, superuser: User) -> dict[str, str]:
    return bearer((await login_pair(client, superuser.email))["access_token"])


async def listed(client: AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(ADMIN_USERS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["email"] for item in response.json()["items"]]


@pytest.mark.integration
class TestWhoReachesAdmin:
    @pytest.mark.parametrize(("method", "path"), [("GET", ADMIN_USERS), ("PATCH", f"{ADMIN_USERS}/1")])
    async def test_anonymous_gets_401(self, client: AsyncClient, method: str, path: str) -> None:
        response = await client.request(method, path, json={"is_active": False})

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize(("method", "path"), [("GET", ADMIN_USERS), ("PATCH", f"{ADMIN_USERS}/1")])
    async def test_an_ordinary_user_gets_403(self, client: AsyncClient, user: User, method: str, path: str) -> None:
        access = (await login_pair(client, user.email))["access_token"]

        response = await client.request(method, path, json={"is_active": False}, headers=bearer(access))

        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"

    async def test_a_superuser_reaches_it(self, client: AsyncClient, admin_headers: dict[str, str]) -> None:
        assert (await client.get(ADMIN_USERS, headers=admin_headers)).status_code == 200

    async def test_a_revoked_superuser_token_gets_401(self, client: AsyncClient, superuser: User) -> None:
        access = (await login_pair(client, superuser.email))["access_token"]
        await client.post("/api/v1/auth/logout", headers=bearer(access))

        assert (await client.get(ADMIN_USERS, headers=bearer(access))).status_code == 401


@pytest.mark.integration
class TestListUsers:
    async def test_pages_through_every_account_by_id(
        self, client: AsyncClient, db_session: AsyncSession, superuser: User, admin_headers: dict[str, str]
    ) -> None:
        others = [await UserFactory.create(db_session) for _ in range(3)]

        first = (await client.get(ADMIN_USERS, params={"limit": 2}, headers=admin_headers)).json()
        second = (await client.get(ADMIN_USERS, params={"limit": 2, "offset": 2}, headers=admin_headers)).json()

        assert [item["id"] for item in first["items"] + second["items"]] == [superuser.id, *(o.id for o in others)]
        third = (await client.get(ADMIN_USERS, params={"limit": 2, "offset": 4}, headers=admin_headers)).json()
        assert (first["next_offset"], second["next_offset"], third["next_offset"]) == (2, 4, None)
        assert third["items"] == []
        assert set(first["items"][0]) == {
            "id",
            "email",
            "username",
            "is_active",
            "is_verified",
            "is_superuser",
            "created_at",
            "updated_at",
        }

    async def test_filters_by_email_prefix_in_any_letter_case(
        self, client: AsyncClient, db_session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        await UserFactory.create(db_session, email="Carol.One@example.com")
        await UserFactory.create(db_session, email="carol.two@example.com")
        await UserFactory.create(db_session, email="dave@example.com")

        assert await listed(client, admin_headers, email_prefix="CAROL.") == [
            "Carol.One@example.com",
            "carol.two@example.com",
        ]

    @pytest.mark.parametrize("prefix", ["%", "_", "\\", "c%", "carol_"])
    async def test_like_wildcards_in_the_prefix_are_taken_literally(
        self, client: AsyncClient, db_session: AsyncSession, admin_headers: dict[str, str], prefix: str
    ) -> None:
        await UserFactory.create(db_session, email="carol@example.com")

        assert await listed(client, admin_headers, email_prefix=prefix) == []

    @pytest.mark.parametrize(("prefix", "match"), [("a_", "a_b"), ("a%", "a%b"), ("a\\", "a\\b")])
    async def test_a_prefix_with_wildcard_characters_finds_the_addresses_that_have_them(
        self, client: AsyncClient, db_session: AsyncSession, admin_headers: dict[str, str], prefix: str, match: str
    ) -> None:
        for local_part in ("a_b", "a%b", "a\\b", "axb"):
            await UserFactory.create(db_session, email=f"{local_part}@example.com")

        assert await listed(client, admin_headers, email_prefix=prefix) == [f"{match}@example.com"]

    async def test_the_order_is_by_id_after_an_account_changed(
        self, client: AsyncClient, db_session: AsyncSession, superuser: User, admin_headers: dict[str, str]
    ) -> None:
        """An UPDATE writes a new row version after the others: only ORDER BY keeps the id order."""
        first, second = await UserFactory.create(db_session), await UserFactory.create(db_session)
        first.username = "renamed"
        await db_session.flush()

        listed_ids = [item["id"] for item in (await client.get(ADMIN_USERS, headers=admin_headers)).json()["items"]]

        assert listed_ids == [superuser.id, first.id, second.id]

    async def test_filters_by_state(
        self, client: AsyncClient, db_session: AsyncSession, superuser: User, admin_headers: dict[str, str]
    ) -> None:
        inactive = await UserFactory.create(db_session, is_active=False)

        assert await listed(client, admin_headers, is_active="false") == [inactive.email]
        assert await listed(client, admin_headers, is_active="true") == [superuser.email]

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 101},
            {"offset": -1},
            {"email_prefix": ""},
            {"email_prefix": "a\x00"},
            {"is_active": "maybe"},
        ],
        ids=["limit-0", "limit-101", "negative-offset", "empty-prefix", "nul-prefix", "not-a-bool"],
    )
    async def test_bad_parameters_are_a_422(
        self, client: AsyncClient, admin_headers: dict[str, str], params: dict[str, Any]
    ) -> None:
        assert (await client.get(ADMIN_USERS, params=params, headers=admin_headers)).status_code == 422


@pytest.mark.integration
class TestDeactivation:
    async def test_every_session_of_the_account_ends_at_once(
        self, client: AsyncClient, user: User, admin_headers: dict[str, str]
    ) -> None:
        sessions = [await login_pair(client, user.email) for _ in range(2)]

        response = await client.patch(f"{ADMIN_USERS}/{user.id}", json={"is_active": False}, headers=admin_headers)

        assert response.status_code == 200, response.text
        assert response.json()["is_active"] is False
        for session in sessions:
            assert await me_status(client, session["access_token"]) == 401
            assert (await client.post(REFRESH, json={"refresh_token": session["refresh_token"]})).status_code == 401
        assert (await login(client, user.email)).status_code == 401
        assert (await client.get(f"/api/v1/users/{user.id}")).status_code == 404

    async def test_reactivation_allows_logins_but_brings_no_session_back(
        self, client: AsyncClient, user: User, admin_headers: dict[str, str]
    ) -> None:
        old = await login_pair(client, user.email)
        await client.patch(f"{ADMIN_USERS}/{user.id}", json={"is_active": False}, headers=admin_headers)

        response = await client.patch(f"{ADMIN_USERS}/{user.id}", json={"is_active": True}, headers=admin_headers)

        assert response.json()["is_active"] is True
        assert await me_status(client, old["access_token"]) == 401
        assert (await client.post(REFRESH, json={"refresh_token": old["refresh_token"]})).status_code == 401
        assert (await login(client, user.email)).status_code == 200

    async def test_a_superuser_cannot_deactivate_themself(
        self, client: AsyncClient, superuser: User, admin_headers: dict[str, str]
    ) -> None:
        response = await client.patch(f"{ADMIN_USERS}/{superuser.id}", json={"is_active": False}, headers=admin_headers)

        assert response.status_code == 409
        assert response.json()["code"] == "cannot_deactivate_self"
        assert await me_status(client, admin_headers["Authorization"].removeprefix("Bearer ")) == 200

    async def test_an_unknown_account_is_a_404(self, client: AsyncClient, admin_headers: dict[str, str]) -> None:
        response = await client.patch(f"{ADMIN_USERS}/2147483647", json={"is_active": False}, headers=admin_headers)

        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"

    @pytest.mark.parametrize(
        "body",
        [{}, {"is_active": "false"}, {"is_active": 0}, {"is_active": None}],
        ids=["empty", "string", "number", "null"],
    )
    async def test_anything_but_a_boolean_is_a_422(
        self, client: AsyncClient, user: User, admin_headers: dict[str, str], body: dict[str, Any]
    ) -> None:
        assert (await client.patch(f"{ADMIN_USERS}/{user.id}", json=body, headers=admin_headers)).status_code == 422


@pytest.mark.integration
class TestNoRequestMakesASuperuser:
    async def test_not_the_admin_endpoint(
        self, client: AsyncClient, user: User, db_session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        response = await client.patch(
            f"{ADMIN_USERS}/{user.id}", json={"is_active": True, "is_superuser": True}, headers=admin_headers
        )

        assert response.status_code == 422
        await db_session.refresh(user)
        assert user.is_superuser is False

    async def test_not_registration(self, client: AsyncClient, db_session: AsyncSession) -> None:
        account = registration()

        response = await client.post("/api/v1/users", json=account | {"is_superuser": True})

        assert response.status_code == 422
        assert await UserRepository(db_session).get_by_email(account["email"]) is None

    async def test_not_a_profile_change(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str], db_session: AsyncSession
    ) -> None:
        response = await client.patch(f"/api/v1/users/{user.id}", json={"is_superuser": True}, headers=auth_headers)

        assert response.status_code == 422
        await db_session.refresh(user)
        assert user.is_superuser is False

    async def test_me_shows_the_flag(
        self,
        client: AsyncClient,
        user: User,
        superuser: User,
        admin_headers: dict[str, str],
        auth_headers: dict[str, str],
    ) -> None:
        assert (await client.get("/api/v1/users/me", headers=admin_headers)).json()["is_superuser"] is True
        assert (await client.get("/api/v1/users/me", headers=auth_headers)).json()["is_superuser"] is False


@pytest.mark.integration
class TestUserRepositoryForAdministration:
    async def test_has_superuser(self, db_session: AsyncSession, user: User) -> None:
        repository = UserRepository(db_session)
        assert await repository.has_superuser() is False

        user.is_superuser = True
        await db_session.flush()

        assert await repository.has_superuser() is True
