"""The read side of access tokens: who a token belongs to, one statement on a driver connection.

Every authenticated request asks this first. Through the request's ORM session it cost a session,
a transaction (BEGIN and COMMIT round trips) and an entity load, most of the CPU of
``GET /users/me`` (profile in bench/results/). Here it is one prepared SELECT in autocommit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, exists, select

from app.database import ReadDatabase, driver_statement
from app.models.token import RevokedAccessToken, TokenFamily
from app.models.user import User


class SignedInUser(NamedTuple):
    """The account behind a valid access token, as committed when the token was checked."""

    id: int
    email: str
    username: str
    created_at: datetime
    is_active: bool
    is_verified: bool
    is_superuser: bool
    updated_at: datetime


class SignedInUsers(Protocol):
    """The access-token check (the read side, or an in-memory fake)."""

    async def signed_in_user(self, user_id: int, jti: uuid.UUID, family_id: uuid.UUID | None) -> SignedInUser | None:
        """The active user behind a token, or None if the user is gone, inactive or the token
        (``jti``) or its session (``family_id``, when the token names one, a session of this user)
        is revoked."""
        ...


_USER_FOR_TOKEN = select(*(getattr(User, column) for column in SignedInUser._fields)).where(
    User.id == bindparam("user_id"),
    User.is_active,
    ~exists().where(RevokedAccessToken.jti == bindparam("jti")),
)
#: Compiled once from the models (so they cannot drift from the schema); the values are bound per call.
_TOKEN_SQL = driver_statement(_USER_FOR_TOKEN)
_SESSION_TOKEN_SQL = driver_statement(
    _USER_FOR_TOKEN.where(
        exists().where(
            TokenFamily.id == bindparam("family_id"),
            TokenFamily.user_id == User.id,  # a session of this user: defence in depth, tokens are signed
            TokenFamily.revoked_at.is_(None),
        )
    )
)


class TokenQueries:
    """Read-only token queries, run through a :class:`ReadDatabase` (no transaction needed)."""

    def __init__(self, read_db: ReadDatabase) -> None:
        self._read_db = read_db

    async def signed_in_user(self, user_id: int, jti: uuid.UUID, family_id: uuid.UUID | None) -> SignedInUser | None:
        """The user row and both revocation checks in one SELECT."""
        values = {"user_id": user_id, "jti": jti, "family_id": family_id}
        statement = _TOKEN_SQL if family_id is None else _SESSION_TOKEN_SQL
        async with self._read_db.driver_connection() as driver:
            record = await driver.fetchrow(statement.sql, *statement.arguments(values))
        return SignedInUser(*record) if record is not None else None
