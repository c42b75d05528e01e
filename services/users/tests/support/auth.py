"""Helpers of the authentication tests: logging in, and crafting tokens by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, get_settings
from app.models.token import TokenFamily
from tests.conftest import PASSWORD

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"

#: Low limits so the throttling tests stay fast (see the ``low_limits`` fixture).
ACCOUNT_LIMIT = 3
CLIENT_LIMIT = 6


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


def valid_claims(user_id: int, settings: Settings | None = None, **overrides: Any) -> dict[str, Any]:
    """Every claim the service requires, valid now; ``...`` as a value removes the claim."""
    settings = settings or get_settings()
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
