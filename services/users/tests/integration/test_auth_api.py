"""Authentication over HTTP: login, access token checks, refresh rotation, logout, throttling.

Everything runs against the real PostgreSQL database (and a real Redis for the shared
throttle); the only thing faked is time, by signing tokens whose claims say so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient, Response
from redis.asyncio import Redis
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.database import get_db
from app.main import create_app
from app.models.token import TokenFamily
from app.models.user import User
from app.utils.jwt import create_access_token
from app.utils.password import hash_password
from app.utils.throttle import ThrottleRule
from tests.conftest import PASSWORD
from tests.factories import UserFactory, unique_email

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"

#: Low limits so the throttling tests stay fast (see the ``low_limits`` fixture).
ACCOUNT_LIMIT = 3
CLIENT_LIMIT = 6


# --------------------------------------------------------------------------- helpers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: AsyncClient, email: str, password: str = PASSWORD) -> Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


async def login_pair(client: AsyncClient, email: str) -> dict[str, Any]:
    response = await login(client, email)
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def refresh(client: AsyncClient, refresh_token: str) -> Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def me_status(client: AsyncClient, access_token: str) -> int:
    return (await client.get(ME, headers=bearer(access_token))).status_code


def secret_key() -> str:
    return get_settings().secret_key.get_secret_value()


def valid_claims(user_id: int, **overrides: Any) -> dict[str, Any]:
    """Every claim the service requires, valid now; ``...`` as a value removes the claim."""
    settings = get_settings()
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": str(uuid.uuid4()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "type": "access",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not ...}


def sign(claims: dict[str, Any], *, key: str | None = None, headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(
        claims,
        key or secret_key(),
        algorithm="HS256",
        headers={"typ": "at+jwt"} if headers is None else headers,
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_segment(value: dict[str, Any]) -> str:
    """One base64url JSON segment of a JWT (datetimes as NumericDate)."""
    return b64url(json.dumps(value, default=lambda moment: int(moment.timestamp())).encode())


def unsigned_token(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token with valid claims and an empty signature, built by hand."""
    return f"{json_segment({'alg': 'none', 'typ': 'at+jwt'})}.{json_segment(claims)}."


def tamper_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"


def unverified(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def without_request_id(response: Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("request_id", None)
    return body


def assert_throttled(response: Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "too_many_attempts"
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 0 < int(retry_after) <= get_settings().login_failure_window_seconds


async def family_of(db_session: AsyncSession, access_token: str) -> TokenFamily:
    family = await db_session.get(TokenFamily, uuid.UUID(unverified(access_token)["sid"]), populate_existing=True)
    assert family is not None
    return family


@pytest.fixture
def low_limits() -> Iterator[None]:
    """Throttle limits low enough to reach quickly; restored (and the settings reloaded) afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOGIN_MAX_FAILURES_PER_ACCOUNT", str(ACCOUNT_LIMIT))
        patch.setenv("LOGIN_MAX_FAILURES_PER_CLIENT", str(CLIENT_LIMIT))
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def limited_client(low_limits: None, client: AsyncClient) -> AsyncClient:
    """``client`` whose app started with the low limits (``low_limits`` is set up first)."""
    return client


@asynccontextmanager
async def app_instance(db_session: AsyncSession, client_host: str) -> AsyncIterator[AsyncClient]:
    """A separate instance of the service (its own app, lifespan and throttle store).

    Like the ``client`` fixture, its requests share the test's ``db_session``; requests come
    from ``client_host``.
    """
    instance = create_app()

    async def override_get_db() -> AsyncIterator[AsyncSession]:
        yield db_session

    instance.dependency_overrides[get_db] = override_get_db
    async with LifespanManager(instance) as manager:
        transport = ASGITransport(app=manager.app, client=(client_host, 40_000))
        async with AsyncClient(transport=transport, base_url="http://test") as instance_client:
            yield instance_client


async def counter_value(redis: Redis, key: str) -> int:
    raw = await redis.get(key)
    assert raw is not None, f"{key} is not in Redis"
    return int(raw)


def unique_client_host() -> str:
    """A client address no other test uses, so Redis counters of other tests never interfere."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"


@pytest.fixture
async def redis(use_redis: str) -> AsyncIterator[Redis]:
    connection = Redis.from_url(use_redis)
    try:
        yield connection
    finally:
        await connection.aclose()


# --------------------------------------------------------------------------- login


@pytest.mark.integration
class TestLogin:
    async def test_returns_a_bearer_token_pair(self, client: AsyncClient, user: User) -> None:
        response = await login(client, user.email)

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == get_settings().access_token_ttl_seconds
        assert body["access_token"] != body["refresh_token"]
        assert response.headers["Cache-Control"] == "no-store"
        assert await me_status(client, body["access_token"]) == 200

    async def test_unknown_email_and_wrong_password_get_the_same_401(self, client: AsyncClient, user: User) -> None:
        unknown = await login(client, unique_email())
        wrong_password = await login(client, user.email, "Wrong-password-123")

        assert unknown.status_code == wrong_password.status_code == 401
        assert without_request_id(unknown) == without_request_id(wrong_password)
        assert without_request_id(unknown)["code"] == "invalid_credentials"
        assert unknown.headers["WWW-Authenticate"] == wrong_password.headers["WWW-Authenticate"] == "Bearer"

    async def test_email_is_matched_regardless_of_letter_case(self, client: AsyncClient, user: User) -> None:
        response = await login(client, user.email.upper())

        assert response.status_code == 200
        assert unverified(response.json()["access_token"])["sub"] == str(user.id)

    @pytest.mark.parametrize(
        "password",
        [PASSWORD + " ", " " + PASSWORD, PASSWORD.lower(), PASSWORD.upper(), PASSWORD[:-1]],
        ids=["trailing-space", "leading-space", "lower-case", "upper-case", "truncated"],
    )
    async def test_password_is_verified_exactly_as_given(self, client: AsyncClient, user: User, password: str) -> None:
        response = await login(client, user.email, password)

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"

    async def test_deactivated_user_cannot_log_in(self, client: AsyncClient, db_session: AsyncSession) -> None:
        inactive = await UserFactory.create(db_session, hashed_password=hash_password(PASSWORD), is_active=False)
        wrong_password = await login(client, unique_email(), PASSWORD)

        response = await login(client, inactive.email)

        assert response.status_code == 401
        assert without_request_id(response) == without_request_id(wrong_password)

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"email": "someone@example.com"},
            {"password": PASSWORD},
            {"email": "not-an-email", "password": PASSWORD},
            {"email": "someone@example.com", "password": ""},
            {"email": "someone@example.com", "password": "x" * 129},
            {"email": "someone@example.com", "password": PASSWORD, "is_admin": True},
            {"email": ["someone@example.com"], "password": PASSWORD},
            [],
        ],
        ids=[
            "empty",
            "no-password",
            "no-email",
            "bad-email",
            "empty-password",
            "long-password",
            "extra",
            "list",
            "array",
        ],
    )
    async def test_malformed_input_is_422(self, client: AsyncClient, body: Any) -> None:
        response = await client.post(LOGIN, json=body)

        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [(b"{not json", "application/json"), (b"", "application/json"), (b"email=a@b.c&password=x", "text/plain")],
        ids=["broken-json", "empty-body", "not-json"],
    )
    async def test_non_json_body_is_422(self, client: AsyncClient, content: bytes, content_type: str) -> None:
        response = await client.post(LOGIN, content=content, headers={"Content-Type": content_type})

        assert response.status_code == 422

    async def test_validation_errors_never_echo_the_password(self, client: AsyncClient) -> None:
        secret = "Sup3r-secret-" + "x" * 120

        response = await client.post(LOGIN, json={"email": "someone@example.com", "password": secret})

        assert response.status_code == 422
        assert "Sup3r-secret" not in response.text


# --------------------------------------------------------------------------- access tokens


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
                for claim in ("sub", "exp", "iat", "jti", "iss", "aud", "type")
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
        assert response.json()["code"] in {"invalid_token", "not_authenticated"}
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


# --------------------------------------------------------------------------- logout


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


# --------------------------------------------------------------------------- refresh


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


# --------------------------------------------------------------------------- throttling


@pytest.mark.integration
class TestLoginThrottling:
    async def test_account_is_locked_after_repeated_failures(
        self, limited_client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        for attempt in range(ACCOUNT_LIMIT):
            email = user.email.upper() if attempt % 2 else user.email
            assert (await login(limited_client, email, "Wrong-password-123")).status_code == 401

        response = await login(limited_client, user.email)

        assert_throttled(response)
        other = await UserFactory.create(db_session, hashed_password=hash_password(PASSWORD))
        assert (await login(limited_client, other.email)).status_code == 200

    async def test_below_the_limit_the_right_password_still_works(
        self, limited_client: AsyncClient, user: User
    ) -> None:
        for _ in range(ACCOUNT_LIMIT - 1):
            await login(limited_client, user.email, "Wrong-password-123")

        assert (await login(limited_client, user.email)).status_code == 200

    async def test_client_is_locked_after_failures_across_accounts(
        self, limited_client: AsyncClient, user: User
    ) -> None:
        for _ in range(CLIENT_LIMIT):
            assert (await login(limited_client, unique_email(), "Wrong-password-123")).status_code == 401

        response = await login(limited_client, user.email)

        assert_throttled(response)

    async def test_success_resets_the_account_counter(self, limited_client: AsyncClient, user: User) -> None:
        for _ in range(ACCOUNT_LIMIT - 1):
            await login(limited_client, user.email, "Wrong-password-123")
        assert (await login(limited_client, user.email)).status_code == 200
        for _ in range(ACCOUNT_LIMIT - 1):
            await login(limited_client, user.email, "Wrong-password-123")

        response = await login(limited_client, user.email)

        assert response.status_code == 200

    async def test_separate_instances_without_redis_do_not_share_counters(
        self, low_limits: None, db_session: AsyncSession, user: User
    ) -> None:
        """The control for the Redis tests: in-process counters are per instance."""
        assert "REDIS_URL" not in os.environ
        host = unique_client_host()
        async with app_instance(db_session, host) as first, app_instance(db_session, host) as second:
            for _ in range(ACCOUNT_LIMIT):
                await login(first, user.email, "Wrong-password-123")
            assert_throttled(await login(first, user.email))

            response = await login(second, user.email)

        assert response.status_code == 200


@pytest.mark.integration
class TestLoginThrottlingWithRedis:
    async def test_account_counter_is_shared_by_instances(
        self, low_limits: None, redis: Redis, db_session: AsyncSession, user: User
    ) -> None:
        async with (
            app_instance(db_session, unique_client_host()) as first,
            app_instance(db_session, unique_client_host()) as second,
        ):
            for _ in range(ACCOUNT_LIMIT):
                assert (await login(first, user.email, "Wrong-password-123")).status_code == 401

            response = await login(second, user.email)

        assert_throttled(response)
        key = ThrottleRule("account", ACCOUNT_LIMIT, 1).key(user.email.lower())
        assert await counter_value(redis, key) == ACCOUNT_LIMIT
        ttl_ms = await redis.pttl(key)
        assert 0 < ttl_ms <= get_settings().login_failure_window_seconds * 1000
        assert int(response.headers["Retry-After"]) * 1000 >= ttl_ms

    async def test_client_counter_is_shared_by_instances(
        self, low_limits: None, redis: Redis, db_session: AsyncSession, user: User
    ) -> None:
        host = unique_client_host()
        async with app_instance(db_session, host) as first, app_instance(db_session, host) as second:
            for attempt in range(CLIENT_LIMIT):
                instance = first if attempt % 2 else second
                assert (await login(instance, unique_email(), "Wrong-password-123")).status_code == 401

            response = await login(first, user.email)

        assert_throttled(response)
        assert await counter_value(redis, ThrottleRule("client", CLIENT_LIMIT, 1).key(host)) == CLIENT_LIMIT

    async def test_success_on_one_instance_resets_the_account_for_all(
        self, low_limits: None, redis: Redis, db_session: AsyncSession, user: User
    ) -> None:
        key = ThrottleRule("account", ACCOUNT_LIMIT, 1).key(user.email.lower())
        async with (
            app_instance(db_session, unique_client_host()) as first,
            app_instance(db_session, unique_client_host()) as second,
        ):
            for _ in range(ACCOUNT_LIMIT - 1):
                await login(first, user.email, "Wrong-password-123")
            assert await counter_value(redis, key) == ACCOUNT_LIMIT - 1
            assert (await login(second, user.email)).status_code == 200
            assert await redis.exists(key) == 0
            for _ in range(ACCOUNT_LIMIT - 1):
                await login(first, user.email, "Wrong-password-123")

            response = await login(second, user.email)

        assert response.status_code == 200

    async def test_use_redis_with_the_client_fixture(
        self, use_redis: str, low_limits: None, client: AsyncClient, redis: Redis, user: User
    ) -> None:
        """The ``client`` fixture's app also keeps its counters in Redis when ``REDIS_URL`` is set."""
        key = ThrottleRule("account", ACCOUNT_LIMIT, 1).key(user.email.lower())

        response = await login(client, user.email, "Wrong-password-123")

        assert response.status_code == 401
        assert await counter_value(redis, key) == 1
        client_key = ThrottleRule("client", CLIENT_LIMIT, 1).key("127.0.0.1")
        assert await counter_value(redis, client_key) >= 1
        await redis.delete(key)
        await redis.decr(client_key)  # undo this test's failure on the address every ``client`` shares
