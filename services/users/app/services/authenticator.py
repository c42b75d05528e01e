"""Who sent a request: the access-token check every authenticated request runs first."""

from __future__ import annotations

from typing import Protocol

from app.config import Settings
from app.exceptions import InvalidTokenError
from app.models.user import User
from app.repositories.token_queries import SignedInUser, SignedInUsers
from app.repositories.user_repository import UserRepositoryPort
from app.utils.jwt import AccessTokenClaims, decode_access_token


class Actor(Protocol):
    """Who asks: the signed-in user's row (:class:`SignedInUser`) or entity (``User``)."""

    @property
    def id(self) -> int: ...


class Authenticator:
    """Checks a bearer token: its signature and claims, then (one read) that its user is active
    and neither the token nor its session is revoked. A logout or a deactivation is refused
    from the next request on: nothing about a token is cached."""

    def __init__(self, users: SignedInUsers, settings: Settings) -> None:
        self._users = users
        self._settings = settings

    async def authenticate(self, token: str) -> tuple[SignedInUser, AccessTokenClaims]:
        claims = decode_access_token(token, settings=self._settings)
        user = await self._users.signed_in_user(claims.user_id, claims.jti, claims.session_id)
        if user is None:
            raise InvalidTokenError
        return user, claims


async def user_to_change(users: UserRepositoryPort, signed_in: SignedInUser) -> User:
    """The signed-in user as an entity of the request's transaction, for a handler that changes it.

    The token was checked on the read side; the account may have been deleted or deactivated
    since, and then the request is refused as the check would refuse it now.
    """
    user = await users.get_by_id(signed_in.id)
    if user is None or not user.is_active:
        raise InvalidTokenError
    return user
