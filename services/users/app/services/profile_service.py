"""A user changing their own profile: ownership, the current-password check, other sessions ended,
a new address verified and the previous one told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.exceptions import PermissionDeniedError
from app.models.user import User
from app.repositories.token_repository import SessionRevoker
from app.repositories.user_repository import UserRepositoryPort
from app.services.account_tokens import EmailVerification
from app.services.notifier import Notifier
from app.services.passwords import PasswordAttemptLimiter, check_current_password
from app.services.user_service import ProfileChanges, UserService


class ProfileService:
    def __init__(
        self,
        users: UserRepositoryPort,
        sessions: SessionRevoker,
        password_attempts: PasswordAttemptLimiter,
        verification: EmailVerification,
        notifier: Notifier,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._password_attempts = password_attempts
        self._verification = verification
        self._notifier = notifier

    async def update_own_profile(
        self, actor: User, user_id: int, changes: ProfileChanges, current_session: uuid.UUID | None
    ) -> User:
        """A user changes their own profile; an email change needs the current password.

        A new email ends every other session of the account (whoever took it over is logged out;
        ``current_session``, the caller's token family, stays) and gets a verification link; the
        previous address is told, with no link in the notice.
        """
        if actor.id != user_id:
            raise PermissionDeniedError
        old_email = actor.email
        if changes.email is not None:
            await check_current_password(self._password_attempts, actor, changes.current_password or "")
        user = await UserService(self._users).update_user(user_id, changes)
        if user.email.lower() != old_email.lower():
            await self._sessions.revoke_other_families(user.id, current_session, datetime.now(UTC))
            await self._verification.send(user)
            self._notifier.email_changed(user, old_email)
        return user
