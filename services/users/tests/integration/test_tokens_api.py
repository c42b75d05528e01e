"""Tokens over HTTP: access token validation (RFC 8725), refresh rotation and reuse (RFC 9700), logout.

The only thing faked is time, by signing tokens whose claims say so.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.token import TokenFamily
from app.models.user import User
from app.utils.jwt import create_access_token
from app.utils.password import hash_password
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.support.auth import (
    LOGOUT,
    ME,
    REFRESH,
    bearer,
    family_of,
    json_segment,
    login_pair,
    me_status,
    refresh,
    sha256_hex,
    sign,
    tamper_signature,
    unsigned_token,
    unverified,
    valid_claims,
)


@pytest.mark.integration
class TestAccessTokens:
    async def test_seed_style_token_is_accepted(self, client: AsyncClient, user: User) -> None:
        token = create_access_token({"sub": str(user.id)})

        response = await client.get(ME, headers=bearer(token))

        assert response.status_code == 200
        assert response.json()["id"] == user.id

    async def test_hand_signed_valid_token_is_accepted(self, client: AsyncClient, user: User) -> None:
        """The control for the refusals below: the same helper with nothing wrong is accepted."""
        assert await me_status(client, sign(valid_claims(user.id))) == 200

    @pytest.mark.parametrize(
        "make_token",
        [
            pytest.param(lambda uid: create_access_token({"sub": str(uid)}, timedelta(seconds=-1)), id="expired"),
            pytest.param(lambda uid: sign(valid_claims(uid, exp=datetime.now(UTC) - timedelta(hours=1))), id="exp"),
            pytest.param(lambda uid: sign(valid_claims(uid, nbf=datetime.now(UTC) + timedelta(hours=1))), id="nbf"),
            pytest.param(lambda uid: tamper_signature(create_access_token({"sub": str(uid)})), id="tampered-sig"),
            pytest.param(lambda uid: unsigned_token(valid_claims(uid)), id="alg-none"),
            pytest.param(lambda uid: sign(valid_claims(uid), key="another-key-" + "k" * 40), id="other-key"),
            pytest.param(lambda uid: sign(valid_claims(uid), headers={}), id="typ-jwt"),
            pytest.param(lambda uid: sign(valid_claims(uid), headers={"typ": "JWT"}), id="typ-JWT-explicit"),
            pytest.param(lambda uid: sign(valid_claims(uid, aud="another-service")), id="wrong-aud"),
            pytest.param(lambda uid: sign(valid_claims(uid, iss="https://evil.example.com")), id="wrong-iss"),
            pytest.param(lambda uid: sign(valid_claims(uid, type="refresh")), id="wrong-type"),
            pytest.param(lambda uid: sign(valid_claims(uid, sub="not-a-number")), id="bad-sub"),
            pytest.param(lambda _uid: sign(valid_claims(0, sub="99999999999999")), id="sub-beyond-int32"),
            pytest.param(lambda uid: sign(valid_claims(uid, jti="not-a-uuid")), id="bad-jti"),
            pytest.param(lambda uid: sign(valid_claims(uid, sid="not-a-uuid")), id="bad-sid"),
            pytest.param(lambda uid: sign(valid_claims(uid, sid=str(uuid.uuid4()))), id="unknown-sid"),
            *(
                pytest.param(lambda uid, claim=claim: sign(valid_claims(uid, **{claim: ...})), id=f"no-{claim}")
                for claim in ("sub", "exp", "iat", "nbf", "jti", "iss", "aud", "type")
            ),
            pytest.param(lambda _uid: "garbage", id="garbage"),
            pytest.param(lambda _uid: "a.b.c", id="three-garbage-segments"),
            pytest.param(lambda _uid: "e30.e30.", id="empty-json"),
        ],
    )
    async def test_bad_token_is_refused(
        self, client: AsyncClient, user: User, make_token: Callable[[int], str]
    ) -> None:
        token = make_token(user.id)

        response = await client.get(ME, headers=bearer(token))

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_payload_swapped_under_a_valid_signature_is_refused(
        self, client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        victim = await UserFactory.create(db_session)
        header, _, signature = create_access_token({"sub": str(user.id)}).split(".")
        forged_payload = json_segment(valid_claims(victim.id))

        response = await client.get(ME, headers=bearer(f"{header}.{forged_payload}.{signature}"))

        assert response.status_code == 401

    @pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc"])
    async def test_malformed_authorization_header_is_refused(
        self, client: AsyncClient, user: User, authorization: str
    ) -> None:
        response = await client.get(ME, headers={"Authorization": authorization})

        assert response.status_code == 401

    async def test_refresh_token_is_not_an_access_token(self, client: AsyncClient, user: User) -> None:
        pair = await login_pair(client, user.email)

        assert await me_status(client, pair["refresh_token"]) == 401

    async def test_token_of_a_deactivated_user_is_refused(
        self, client: AsyncClient, user: User, db_session: AsyncSession, auth_headers: dict[str, str]
    ) -> None:
        assert (await client.get(ME, headers=auth_headers)).status_code == 200
        user.is_active = False
        await db_session.commit()

        response = await client.get(ME, headers=auth_headers)

        assert response.status_code == 401

    async def test_token_of_a_deleted_user_is_refused(
        self, client: AsyncClient, user: User, db_session: AsyncSession, auth_headers: dict[str, str]
    ) -> None:
        assert (await client.get(ME, headers=auth_headers)).status_code == 200
        await db_session.execute(delete(User).where(User.id == user.id))
        await db_session.commit()

        response = await client.get(ME, headers=auth_headers)

        assert response.status_code == 401


@pytest.mark.integration
class TestLogout:
    async def test_seed_style_token_is_refused_after_logout(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str]
    ) -> None:
        response = await client.post(LOGOUT, headers=auth_headers)

        assert response.status_code == 200
        assert (await client.get(ME, headers=auth_headers)).status_code == 401

    async def test_logout_needs_a_valid_token(self, client: AsyncClient) -> None:
        assert (await client.post(LOGOUT)).status_code == 401
        assert (await client.post(LOGOUT, headers=bearer("garbage"))).status_code == 401

    async def test_login_token_carries_its_session_and_logout_revokes_the_family(
        self, client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        pair = await login_pair(client, user.email)
        family = await family_of(db_session, pair["access_token"])
        assert family.user_id == user.id
        assert family.revoked_at is None

        response = await client.post(LOGOUT, headers=bearer(pair["access_token"]))

        assert response.status_code == 200
        assert await me_status(client, pair["access_token"]) == 401
        assert (await refresh(client, pair["refresh_token"])).status_code == 401
        assert (await family_of(db_session, pair["access_token"])).revoked_at is not None

    async def test_tokens_rotated_from_the_session_are_refused_after_logout(
        self, client: AsyncClient, user: User
    ) -> None:
        first = await login_pair(client, user.email)
        rotated = (await refresh(client, first["refresh_token"])).json()

        await client.post(LOGOUT, headers=bearer(first["access_token"]))

        assert await me_status(client, rotated["access_token"]) == 401
        assert (await refresh(client, rotated["refresh_token"])).status_code == 401

    async def test_another_session_stays_valid(self, client: AsyncClient, user: User) -> None:
        first = await login_pair(client, user.email)
        second = await login_pair(client, user.email)
        assert unverified(first["access_token"])["sid"] != unverified(second["access_token"])["sid"]

        await client.post(LOGOUT, headers=bearer(first["access_token"]))

        assert await me_status(client, first["access_token"]) == 401
        assert await me_status(client, second["access_token"]) == 200
        assert (await refresh(client, second["refresh_token"])).status_code == 200

    async def test_logout_body_can_name_another_family_of_the_same_user(self, client: AsyncClient, user: User) -> None:
        first = await login_pair(client, user.email)
        second = await login_pair(client, user.email)

        response = await client.post(
            LOGOUT, headers=bearer(first["access_token"]), json={"refresh_token": second["refresh_token"]}
        )

        assert response.status_code == 200
        assert (await refresh(client, second["refresh_token"])).status_code == 401
        assert await me_status(client, second["access_token"]) == 401

    async def test_logout_cannot_revoke_a_family_of_another_user(
        self, client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        other = await UserFactory.create(db_session, hashed_password=hash_password(PASSWORD))
        mine = await login_pair(client, user.email)
        theirs = await login_pair(client, other.email)

        response = await client.post(
            LOGOUT, headers=bearer(mine["access_token"]), json={"refresh_token": theirs["refresh_token"]}
        )

        assert response.status_code == 200
        assert await me_status(client, theirs["access_token"]) == 200
        assert (await refresh(client, theirs["refresh_token"])).status_code == 200


@pytest.mark.integration
class TestRefresh:
    async def test_returns_a_new_pair(self, client: AsyncClient, user: User) -> None:
        first = await login_pair(client, user.email)

        response = await refresh(client, first["refresh_token"])

        assert response.status_code == 200
        second = response.json()
        assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert second["token_type"] == "bearer"
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert unverified(second["access_token"])["sid"] == unverified(first["access_token"])["sid"]
        assert await me_status(client, second["access_token"]) == 200
        assert response.headers["Cache-Control"] == "no-store"

    async def test_the_newest_token_keeps_rotating(self, client: AsyncClient, user: User) -> None:
        token = (await login_pair(client, user.email))["refresh_token"]
        for _ in range(3):
            response = await refresh(client, token)
            assert response.status_code == 200
            token = response.json()["refresh_token"]

    async def test_reused_token_is_refused_and_revokes_the_family(
        self, client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        first = await login_pair(client, user.email)
        second = (await refresh(client, first["refresh_token"])).json()
        assert await me_status(client, second["access_token"]) == 200

        reuse = await refresh(client, first["refresh_token"])

        assert reuse.status_code == 401
        assert reuse.json()["code"] == "invalid_token"
        assert (await refresh(client, second["refresh_token"])).status_code == 401
        assert await me_status(client, second["access_token"]) == 401
        assert await me_status(client, first["access_token"]) == 401
        assert (await family_of(db_session, first["access_token"])).revoked_at is not None

    async def test_reuse_leaves_other_sessions_alone(self, client: AsyncClient, user: User) -> None:
        stolen = await login_pair(client, user.email)
        other = await login_pair(client, user.email)
        await refresh(client, stolen["refresh_token"])

        await refresh(client, stolen["refresh_token"])

        assert await me_status(client, other["access_token"]) == 200
        assert (await refresh(client, other["refresh_token"])).status_code == 200

    @pytest.mark.parametrize("token", ["garbage", "A" * 43, "x"], ids=["garbage", "unknown", "short"])
    async def test_unknown_token_is_401(self, client: AsyncClient, token: str) -> None:
        response = await refresh(client, token)

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"

    @pytest.mark.parametrize(
        "body",
        [
            {"refresh_token": "A" * 129},
            {"refresh_token": "abc$%^"},
            {"refresh_token": "a b"},
            {"refresh_token": ""},
            {},
        ],
        ids=["too-long", "illegal-chars", "space", "empty", "missing"],
    )
    async def test_malformed_token_is_422(self, client: AsyncClient, body: dict[str, str]) -> None:
        response = await client.post(REFRESH, json=body)

        assert response.status_code == 422

    async def test_expired_family_is_refused(self, client: AsyncClient, user: User, db_session: AsyncSession) -> None:
        pair = await login_pair(client, user.email)
        family = await family_of(db_session, pair["access_token"])
        await db_session.execute(
            update(TokenFamily)
            .where(TokenFamily.id == family.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await db_session.commit()

        response = await refresh(client, pair["refresh_token"])

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"

    async def test_rotation_keeps_the_absolute_lifetime(
        self, client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        first = await login_pair(client, user.email)
        family = await family_of(db_session, first["access_token"])

        second = (await refresh(client, first["refresh_token"])).json()

        stored = (
            await db_session.execute(
                text("SELECT expires_at FROM refresh_tokens WHERE token_hash = :hash"),
                {"hash": sha256_hex(second["refresh_token"])},
            )
        ).scalar_one()
        assert stored == family.expires_at

    async def test_refresh_tokens_are_stored_only_as_sha256(
        self, client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        first = await login_pair(client, user.email)
        second = (await refresh(client, first["refresh_token"])).json()

        rows = (await db_session.execute(text("SELECT token_hash, r::text AS whole FROM refresh_tokens r"))).all()

        hashes = {row.token_hash for row in rows}
        assert {sha256_hex(first["refresh_token"]), sha256_hex(second["refresh_token"])} <= hashes
        for row in rows:
            assert first["refresh_token"] not in row.whole
            assert second["refresh_token"] not in row.whole

    async def test_refresh_token_has_at_least_256_bits(self, client: AsyncClient, user: User) -> None:
        tokens = {(await login_pair(client, user.email))["refresh_token"] for _ in range(3)}

        assert len(tokens) == 3
        for token in tokens:
            padded = token + "=" * (-len(token) % 4)
            assert len(base64.urlsafe_b64decode(padded)) >= 32
