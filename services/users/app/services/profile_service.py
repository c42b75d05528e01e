"""A user changing their own profile: ownership, the current-password check, other sessions ended."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Protocol

from app.exceptions import CurrentPasswordInvalidError, PermissionDeniedError, TooManyAttemptsError
from app.models.user import User
from app.repositories.token_repository import SessionRevoker
from app.repositories.user_repository import UserRepositoryPort
from app.services.user_service import ProfileChanges, UserService
from app.utils.password import verify_password


class PasswordAttemptLimiter(Protocol):
    """Counts password guesses per account (the login throttle's per-account rule)."""

    async def begin_account_attempt(self, account: str) -> int | None:
        """Count a guess; the seconds to wait if the account is over its limit, else None."""
        ...

    async def record_account_success(self, account: str) -> None: ...


class ProfileService:
    def __init__(
        self, users: UserRepositoryPort, sessions: SessionRevoker, password_attempts: PasswordAttemptLimiter
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._password_attempts = password_attempts

    async def update_own_profile(
        self, actor: User, user_id: int, changes: ProfileChanges, current_session: uuid.UUID | None
    ) -> User:
        """A user changes their own profile; an email change needs the current password.

        A new email ends every other session of the account (whoever took it over is logged out);
        ``current_session`` (the caller's token family) stays.
        """
        if actor.id != user_id:
            raise PermissionDeniedError
        old_email = actor.email.lower()
        if changes.email is not None:
            await self._check_current_password(actor, changes.current_password or "")
        user = await UserService(self._users).update_user(user_id, changes)
        if user.email.lower() != old_email:
            await self._sessions.revoke_other_families(user.id, current_session, datetime.now(UTC))
        return user

    async def _check_current_password(self, actor: User, password: str) -> None:
        """Guesses count with failed logins of the account, so a stolen access token cannot be
        used to brute-force the password here (and then take the account over by email)."""
        retry_after = await self._password_attempts.begin_account_attempt(actor.email)
        if retry_after is not None:
            raise TooManyAttemptsError(retry_after, "Too many wrong passwords for this account, try again later")
        if not await asyncio.to_thread(verify_password, password, actor.hashed_password):
            raise CurrentPasswordInvalidError
        await self._password_attempts.record_account_success(actor.email)
