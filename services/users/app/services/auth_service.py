"""Login, refresh token rotation with reuse detection (RFC 9700) and logout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.config import Settings
from app.exceptions import (
    AccountDisabledTokenError,
    EmailNotVerifiedError,
    InvalidCredentialsError,
    InvalidTokenError,
    RefreshTokenReusedError,
    TooManyAttemptsError,
)
from app.models.user import User
from app.repositories.token_repository import TokenRepositoryPort
from app.repositories.user_repository import UserRepositoryPort
from app.services.limits import Limit, RateLimiter, enforce
from app.services.user_service import UserService
from app.unit_of_work import UnitOfWork
from app.utils.jwt import AccessTokenClaims, create_access_token
from app.utils.password import hash_password, in_hashing_thread, needs_rehash
from app.utils.tokens import hash_refresh_token, new_refresh_token


class LoginAttemptLimiter(Protocol):
    """Counts login attempts per account and per client (``app.utils.throttle.LoginThrottle``)."""

    async def begin_attempt(self, account: str, client: str) -> int | None:
        """Count an attempt; the seconds to wait if it is over a limit, else None."""
        ...

    async def record_success(self, account: str, client: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class AuthService:
    def __init__(
        self,
        users: UserRepositoryPort,
        tokens: TokenRepositoryPort,
        throttle: LoginAttemptLimiter,
        unit_of_work: UnitOfWork,
        settings: Settings,
        *,
        limits: RateLimiter,
    ) -> None:
        self._users = users
        self._limits = limits
        self._tokens = tokens
        self._throttle = throttle
        self._unit_of_work = unit_of_work
        self._settings = settings

    async def login(self, email: str, password: str, client: str) -> TokenPair:
        """Check the password (throttled per account and per client) and open a token family."""
        retry_after = await self._throttle.begin_attempt(email, client)
        if retry_after is not None:
            raise TooManyAttemptsError(retry_after)
        user = await self._lock_unchanged(await UserService(self._users).authenticate(email, password))
        await self._throttle.record_success(email, client)
        if not user.is_verified and not self._settings.allow_unverified_login:
            raise EmailNotVerifiedError  # told only to whoever knows the password
        await self._upgrade_hash_if_needed(user, password)
        now = datetime.now(UTC)
        family = await self._tokens.create_family(
            user.id, now + timedelta(seconds=self._settings.refresh_token_ttl_seconds)
        )
        return await self._issue(user.id, family.id, family.expires_at)

    async def _lock_unchanged(self, user: User) -> User:
        """The account row, locked until the new session is committed, as the password was checked.

        A password reset (or change, deletion, deactivation) locks the row first: if one is under
        way, this waits for it and then refuses the old password; if this comes first, the reset
        waits for this session to be committed and then ends it.
        """
        checked_hash = user.hashed_password
        locked = await self._users.get_for_share(user.id)
        if locked is None or locked.is_active is False or locked.hashed_password != checked_hash:
            raise InvalidCredentialsError
        return locked

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token. A token used twice, or of a deactivated account, revokes its
        family for good: the revocation is committed before the request is refused."""
        found = await self._tokens.get_for_rotation(hash_refresh_token(refresh_token))
        if found is None:
            raise InvalidTokenError
        token, family = found
        now = datetime.now(UTC)
        if family.revoked_at is not None or family.expires_at <= now or token.expires_at <= now:
            raise InvalidTokenError
        if token.used_at is not None:
            await self._revoke_for_good(family.id, now)
            raise RefreshTokenReusedError
        user = await self._users.get_by_id(family.user_id)
        if user is None or user.is_active is False:
            await self._revoke_for_good(family.id, now)
            raise AccountDisabledTokenError
        await enforce(self._limits, Limit.REFRESH_PER_FAMILY, str(family.id))  # refused: the token stays usable
        await self._tokens.mark_used(token, now)
        return await self._issue(family.user_id, family.id, family.expires_at)

    async def _revoke_for_good(self, family_id: uuid.UUID, now: datetime) -> None:
        """Revoke a family and commit it, although the request that found out will fail."""
        await self._tokens.revoke_family(family_id, now)
        await self._unit_of_work.commit()

    async def logout(self, claims: AccessTokenClaims, refresh_token: str | None = None) -> None:
        """Refuse this access token from now on, and revoke its refresh token family."""
        now = datetime.now(UTC)
        await self._tokens.revoke_access_token(claims.jti, claims.expires_at)
        if claims.session_id is not None:
            await self._tokens.revoke_family(claims.session_id, now)
        if refresh_token is not None:
            found = await self._tokens.get_for_rotation(hash_refresh_token(refresh_token))
            if found is not None and found[1].user_id == claims.user_id:
                await self._tokens.revoke_family(found[1].id, now)

    async def _issue(self, user_id: int, family_id: uuid.UUID, family_expires_at: datetime) -> TokenPair:
        refresh_token = new_refresh_token()
        await self._tokens.add_refresh_token(
            family_id,
            hash_refresh_token(refresh_token),
            family_expires_at,
        )
        access_token = create_access_token({"sub": str(user_id), "sid": str(family_id)}, settings=self._settings)
        return TokenPair(access_token, refresh_token, self._settings.access_token_ttl_seconds)

    async def _upgrade_hash_if_needed(self, user: User, password: str) -> None:
        if needs_rehash(user.hashed_password):
            user.hashed_password = await in_hashing_thread(hash_password, password)
            await self._users.update(user)
