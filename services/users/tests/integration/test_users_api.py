"""The users API's rules: registration input, public profiles, and who may change a profile."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import User
from app.utils.jwt import create_access_token
from tests.conftest import PASSWORD
from tests.factories import UserFactory, unique_email, unique_username

USERS = "/api/v1/users"


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token({'sub': str(user.id)})}"}


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}
    body.update(overrides)
    return body


async def count_users(db_session: AsyncSession) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(User)) or 0)


def assert_validation_error(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


@pytest.mark.integration
class TestRegistrationValidation:
    @pytest.mark.parametrize(
        "email",
        ["not-an-email", "missing-at.example.com", "a@", "@example.com", "two@@example.com", "a b@example.com", ""],
    )
    async def test_bad_email_is_422(self, client: AsyncClient, db_session: AsyncSession, email: str) -> None:
        response = await client.post(USERS, json=registration(email=email))

        assert_validation_error(response)
        assert await count_users(db_session) == 0

    @pytest.mark.parametrize("length", [7, 129])
    async def test_password_outside_8_to_128_is_422(
        self, client: AsyncClient, db_session: AsyncSession, length: int
    ) -> None:
        response = await client.post(USERS, json=registration(password="p" * length))

        assert_validation_error(response)
        assert response.json()["errors"][0]["loc"] == ["body", "password"]
        assert await count_users(db_session) == 0

    @pytest.mark.parametrize("length", [8, 128])
    async def test_password_of_8_and_128_is_accepted(self, client: AsyncClient, length: int) -> None:
        body = registration(password="p" * length)

        response = await client.post(USERS, json=body)

        assert response.status_code == 201, response.text
        login = await client.post("/api/v1/auth/login", json={"email": body["email"], "password": body["password"]})
        assert login.status_code == 200

    @pytest.mark.parametrize(
        "username",
        ["ab", "x" * 51, "has space", "_leading", ".leading", "-leading", "slash/name", "ünïcode", "emoji😀", ""],
    )
    async def test_bad_username_is_422(self, client: AsyncClient, db_session: AsyncSession, username: str) -> None:
        response = await client.post(USERS, json=registration(username=username))

        assert_validation_error(response)
        assert await count_users(db_session) == 0

    @pytest.mark.parametrize("username", ["abc", "x" * 50, "A.b-c_1", "007"])
    async def test_good_username_is_accepted(self, client: AsyncClient, username: str) -> None:
        response = await client.post(USERS, json=registration(username=username))

        assert response.status_code == 201, response.text
        assert response.json()["username"] == username

    @pytest.mark.parametrize(
        "extra",
        [
            {"is_active": False},
            {"is_verified": True},
            {"id": 1},
            {"hashed_password": "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA"},
            {"is_admin": True},
            {"created_at": "2000-01-01T00:00:00Z"},
        ],
    )
    async def test_privileged_or_unknown_field_is_422(
        self, client: AsyncClient, db_session: AsyncSession, extra: dict[str, Any]
    ) -> None:
        response = await client.post(USERS, json=registration(**extra))

        assert_validation_error(response)
        assert response.json()["errors"][0]["loc"] == ["body", next(iter(extra))]
        assert await count_users(db_session) == 0

    @pytest.mark.parametrize("field", ["email", "username", "password"])
    async def test_missing_field_is_422(self, client: AsyncClient, field: str) -> None:
        body = registration()
        del body[field]

        response = await client.post(USERS, json=body)

        assert_validation_error(response)

    @pytest.mark.parametrize(
        "overrides",
        [
            {"email": "nul\x00@example.com"},
            {"username": "nul\x00name"},
            {"password": "Secure\x00Pass123"},
        ],
        ids=["email", "username", "password"],
    )
    async def test_nul_character_is_422_never_500(
        self, client: AsyncClient, db_session: AsyncSession, overrides: dict[str, str]
    ) -> None:
        response = await client.post(USERS, json=registration(**overrides))

        assert_validation_error(response)
        assert await count_users(db_session) == 0

    @pytest.mark.parametrize("body", [[], "a string", 42, None], ids=["list", "string", "number", "null"])
    async def test_body_that_is_not_an_object_is_422(self, client: AsyncClient, body: Any) -> None:
        response = await client.post(USERS, json=body)

        assert_validation_error(response)


@pytest.mark.integration
class TestRegistrationConflicts:
    async def test_email_taken_in_another_letter_case_is_409(
        self, client: AsyncClient, db_session: AsyncSession, user: User
    ) -> None:
        response = await client.post(USERS, json=registration(email=user.email.upper()))

        assert response.status_code == 409
        assert response.json()["code"] == "user_already_exists"
        assert await count_users(db_session) == 1

    async def test_username_taken_in_another_letter_case_is_409(
        self, client: AsyncClient, db_session: AsyncSession, user: User
    ) -> None:
        response = await client.post(USERS, json=registration(username=user.username.upper()))

        assert response.status_code == 409
        assert response.json()["code"] == "user_already_exists"
        assert await count_users(db_session) == 1


@pytest.mark.integration
class TestReadUser:
    async def test_unknown_id_is_404_user_not_found(self, client: AsyncClient, user: User) -> None:
        response = await client.get(f"{USERS}/{user.id + 1_000_000}")

        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"

    async def test_public_profile_has_no_private_fields(self, client: AsyncClient, user: User) -> None:
        response = await client.get(f"{USERS}/{user.id}")

        assert response.status_code == 200
        assert set(response.json()) == {"id", "email", "username", "created_at"}

    @pytest.mark.parametrize(
        "user_id",
        ["0", "-1", str(-(2**63)), str(2**31), str(2**63), str(2**64), "abc", "1.5", "1e3", "%20", "0x10"],
    )
    async def test_odd_ids_are_422(self, client: AsyncClient, user_id: str) -> None:
        """None of these is an id (not decimal digits, or outside 1 to 2**31-1): invalid input, never a lookup."""
        response = await client.get(f"{USERS}/{user_id}")

        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"


@pytest.mark.integration
class TestReadMe:
    async def test_me_has_flags_and_never_the_hash(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        response = await client.get(f"{USERS}/me", headers=auth_headers)

        assert response.status_code == 200
        body = response.json()
        assert body["id"] == user.id
        assert body["is_active"] is True
        assert body["is_verified"] is False
        assert "hashed_password" not in body
        assert "password" not in body
        assert user.hashed_password not in response.text


@pytest.mark.integration
class TestUpdateProfile:
    async def test_owner_changes_username(self, client: AsyncClient, user: User, auth_headers: dict[str, str]) -> None:
        new_name = unique_username()

        response = await client.patch(f"{USERS}/{user.id}", json={"username": new_name}, headers=auth_headers)

        assert response.status_code == 200
        assert response.json()["username"] == new_name
        profile = await client.get(f"{USERS}/{user.id}")
        assert profile.json()["username"] == new_name

    async def test_another_user_gets_403(
        self, client: AsyncClient, db_session: AsyncSession, user: User, auth_headers: dict[str, str]
    ) -> None:
        other = await UserFactory.create(db_session)
        original_name = other.username

        response = await client.patch(f"{USERS}/{other.id}", json={"username": unique_username()}, headers=auth_headers)

        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        profile = await client.get(f"{USERS}/{other.id}")
        assert profile.json()["username"] == original_name

    async def test_unknown_id_gets_the_same_403(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        response = await client.patch(
            f"{USERS}/{user.id + 1_000_000}", json={"username": unique_username()}, headers=auth_headers
        )

        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"

    async def test_without_token_is_401(self, client: AsyncClient, user: User) -> None:
        response = await client.patch(f"{USERS}/{user.id}", json={"username": unique_username()})

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_email_without_current_password_is_422(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        response = await client.patch(f"{USERS}/{user.id}", json={"email": unique_email()}, headers=auth_headers)

        assert_validation_error(response)

    async def test_email_with_wrong_current_password_is_403(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        old_email = user.email

        response = await client.patch(
            f"{USERS}/{user.id}",
            json={"email": unique_email(), "current_password": PASSWORD + "x"},
            headers=auth_headers,
        )

        assert response.status_code == 403
        assert response.json()["code"] == "current_password_invalid"
        me = await client.get(f"{USERS}/me", headers=auth_headers)
        assert me.json()["email"] == old_email

    async def test_email_with_right_current_password_changes_the_login(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        old_email, new_email = user.email, unique_email()

        response = await client.patch(
            f"{USERS}/{user.id}", json={"email": new_email, "current_password": PASSWORD}, headers=auth_headers
        )

        assert response.status_code == 200
        assert response.json()["email"] == new_email
        new_login = await client.post("/api/v1/auth/login", json={"email": new_email, "password": PASSWORD})
        assert new_login.status_code == 200
        old_login = await client.post("/api/v1/auth/login", json={"email": old_email, "password": PASSWORD})
        assert old_login.status_code == 401

    @pytest.mark.parametrize(
        "body",
        [
            {"is_active": False},
            {"is_verified": True},
            {"id": 999},
            {"hashed_password": "x"},
            {"password": "NewPassword123!"},
            {"role": "admin"},
            {"username": "fine_name", "is_verified": True},
        ],
    )
    async def test_privileged_or_unknown_field_is_422(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str], body: dict[str, Any]
    ) -> None:
        response = await client.patch(f"{USERS}/{user.id}", json=body, headers=auth_headers)

        assert_validation_error(response)
        me = (await client.get(f"{USERS}/me", headers=auth_headers)).json()
        assert me["is_active"] is True
        assert me["is_verified"] is False
        assert me["username"] == user.username

    @pytest.mark.parametrize("transform", [str, str.upper, str.swapcase], ids=["same", "upper", "swapped"])
    async def test_username_taken_in_any_case_is_409(
        self,
        client: AsyncClient,
        db_session: AsyncSession,
        user: User,
        auth_headers: dict[str, str],
        transform: Any,
    ) -> None:
        other = await UserFactory.create(db_session, username=f"Taken_{unique_username()}")

        response = await client.patch(
            f"{USERS}/{user.id}", json={"username": transform(other.username)}, headers=auth_headers
        )

        assert response.status_code == 409
        assert response.json()["code"] == "user_already_exists"

    async def test_email_taken_in_another_case_is_409(
        self, client: AsyncClient, db_session: AsyncSession, user: User, auth_headers: dict[str, str]
    ) -> None:
        other = await UserFactory.create(db_session)

        response = await client.patch(
            f"{USERS}/{user.id}",
            json={"email": other.email.upper(), "current_password": PASSWORD},
            headers=auth_headers,
        )

        assert response.status_code == 409
        assert response.json()["code"] == "user_already_exists"


@pytest.mark.integration
class TestPasswordChoice:
    """ASVS 6.2.4 and 6.2.11: no common breached password, and not the account's own name."""

    @pytest.mark.parametrize("password", ["password", "12345678", "PASSWORD", "iloveyou", "passw0rd"])
    async def test_a_common_password_is_refused(self, client: AsyncClient, password: str) -> None:
        body = {"email": unique_email(), "username": unique_username(), "password": password}

        response = await client.post("/api/v1/users", json=body)

        assert response.status_code == 422
        assert "common" in response.text

    async def test_the_username_as_password_is_refused(self, client: AsyncClient) -> None:
        username = unique_username()
        body = {"email": unique_email(), "username": username, "password": username.upper()}

        response = await client.post("/api/v1/users", json=body)

        assert response.status_code == 422

    async def test_the_email_as_password_is_refused(self, client: AsyncClient) -> None:
        email = f"x{uuid.uuid4().hex[:6]}@ex.co"
        body = {"email": email, "username": unique_username(), "password": email}

        response = await client.post("/api/v1/users", json=body)

        assert response.status_code == 422

    async def test_an_uncommon_password_is_accepted(self, client: AsyncClient) -> None:
        body = {"email": unique_email(), "username": unique_username(), "password": "SecurePass123!"}

        response = await client.post("/api/v1/users", json=body)

        assert response.status_code == 201
