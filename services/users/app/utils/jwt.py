"""Access tokens: short-lived JWTs, HS256 pinned, with every claim RFC 8725 asks for.

Refresh tokens are not JWTs: they are opaque random strings (see ``app.utils.tokens``), so a
refresh token can never be mistaken for an access token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from app.config import Settings, get_settings
from app.exceptions import InvalidTokenError
from app.schemas.common import MAX_INT_ID

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
#: Explicit typing (RFC 8725 section 3.11, RFC 9068): the header says what the token is.
ACCESS_TOKEN_HEADER_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "nbf", "jti", "iss", "aud", "type"]


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """What the service needs from a validated access token."""

    user_id: int
    jti: uuid.UUID
    expires_at: datetime
    session_id: uuid.UUID | None


def create_access_token(
    data: dict[str, Any],
    expires_delta: timedelta | None = None,
    *,
    settings: Settings | None = None,
) -> str:
    """Sign an access token for ``data["sub"]`` (a user id). Extra keys become claims.

    ``sid``, when given, ties the token to a refresh token family so logout revokes both.
    """
    settings = settings or get_settings()
    now = datetime.now(UTC)
    lifetime = expires_delta or timedelta(seconds=settings.access_token_ttl_seconds)
    claims: dict[str, Any] = {key: value for key, value in data.items() if value is not None}
    claims.update(
        sub=str(data["sub"]),
        iat=now,
        nbf=now,
        exp=now + lifetime,
        jti=str(claims.get("jti") or uuid.uuid4()),
        iss=settings.jwt_issuer,
        aud=settings.jwt_audience,
        type=ACCESS_TOKEN_TYPE,
    )
    if "sid" in claims:
        claims["sid"] = str(claims["sid"])
    return jwt.encode(
        claims,
        settings.secret_key.get_secret_value(),
        algorithm=ALGORITHM,
        headers={"typ": ACCESS_TOKEN_HEADER_TYPE},
    )


def decode_access_token(token: str, *, settings: Settings | None = None) -> AccessTokenClaims:
    """Validate signature, algorithm, type, issuer, audience and lifetime, or raise."""
    settings = settings or get_settings()
    try:
        # One parse of the token (every authenticated request runs this): the header comes with it.
        decoded = jwt.decode_complete(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED_CLAIMS},
        )
        claims = decoded["payload"]
        if decoded["header"].get("typ") != ACCESS_TOKEN_HEADER_TYPE or claims["type"] != ACCESS_TOKEN_TYPE:
            raise InvalidTokenError
        session_id = claims.get("sid")
        return AccessTokenClaims(
            user_id=_user_id(claims["sub"]),
            jti=uuid.UUID(str(claims["jti"])),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
            session_id=uuid.UUID(str(session_id)) if session_id is not None else None,
        )
    # OSError: fromtimestamp of an exp past what the platform's time_t holds (EOVERFLOW).
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, OSError) as exc:
        raise InvalidTokenError from exc


def _user_id(subject: str) -> int:
    """The user id in ``sub``: plain ASCII digits within the id column's range (else a 401, not a 500)."""
    if not (subject.isascii() and subject.isdigit()) or not 1 <= int(subject) <= MAX_INT_ID:
        raise InvalidTokenError
    return int(subject)
