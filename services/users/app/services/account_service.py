"""The account's own lifecycle: registration with a verification link, verifying the address,
changing the password, deleting the account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.exceptions import AlreadyVerifiedError, AuthenticationError, VerificationTokenInvalidError
from app.models.account_token import TokenPurpose
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepositoryPort
from app.repositories.token_repository import SessionRevoker
from app.repositories.user_repository import UserRepositoryPort
from app.services.account_tokens import AccountTokens, EmailVerification, sent_to
from app.services.authenticator import Actor
from app.services.limits import Limit, RateLimiter, enforce
from app.services.notifier import Notifier
from app.services.passwords import (
    PasswordAttemptLimiter,
    check_current_password,
    check_new_password,
    new_password_hash,
)
from app.services.user_service import NewUser, UserService


class AccountService:
    def __init__(
        self,
        users: UserRepositoryPort,
        tokens: AccountTokenRepositoryPort,
        verification: EmailVerification,
        *,
        limits: RateLimiter,
        sessions: SessionRevoker,
        password_attempts: PasswordAttemptLimiter,
        notifier: Notifier,
    ) -> None:
        self._users = users
        self._token_store = tokens
        self._tokens = AccountTokens(tokens)
        self._verification = verification
        self._limits = limits
        self._sessions = sessions
        self._password_attempts = password_attempts
        self._notifier = notifier

    async def register(self, data: NewUser, client: str) -> User:
        """Create the account (unverified) and send a verification link to its address.

        Registrations are counted per client address, so no one floods the service with accounts.
        """
        await enforce(self._limits, Limit.REGISTRATION_PER_CLIENT, client)
        user = await UserService(self._users).create_user(data)
        await self._verification.send(user)
        return user

    async def verify_email(self, token: str) -> None:
        """Mark the account verified. The token must be live and the account must still be
        active and have the address the link was sent to."""
        found = await self._tokens.redeem(token, TokenPurpose.VERIFY_EMAIL)
        user = await self._users.get_for_update(found.user_id) if found is not None else None
        if found is None or user is None or not sent_to(found, user):
            raise VerificationTokenInvalidError
        user.is_verified = True
        await self._users.update(user)

    async def request_verification(self, user: User) -> None:
        """A new link for the signed-in user's address (the previous one stops working)."""
        if user.is_verified:
            raise AlreadyVerifiedError
        await enforce(self._limits, Limit.VERIFICATION_PER_ACCOUNT, str(user.id))
        await self._verification.send(user)

    async def change_password(
        self, actor: Actor, current_password: str, new_password: str, current_session: uuid.UUID | None
    ) -> None:
        """Set a new password, given the current one (a wrong one counts as a failed login).

        Every other session of the account ends; ``current_session``, the caller's, stays. An
        outstanding reset link stops working. The account row is locked first, so two changes,
        or a change and a login, never interleave.
        """
        user = await self._locked(actor)
        check_new_password(user, new_password)
        await check_current_password(self._password_attempts, user, current_password)
        user.hashed_password = await new_password_hash(new_password)
        await self._users.update(user)
        await self._token_store.discard(user.id, TokenPurpose.RESET_PASSWORD)
        await self._sessions.revoke_other_families(user.id, current_session, datetime.now(UTC))
        self._notifier.password_changed(user)

    async def delete_account(self, actor: Actor, current_password: str) -> None:
        """Delete the account for good, given its password (a wrong one counts as a failed login).

        A hard delete: the row goes, and the database takes the account's posts, sessions and
        tokens with it. Every access token is refused from then on (its user is gone), the
        profile is 404, and the email and username are free to register again.
        """
        user = await self._locked(actor)
        await check_current_password(self._password_attempts, user, current_password)
        await self._users.delete(user)

    async def _locked(self, actor: Actor) -> User:
        """The signed-in user's row, locked and as committed now (gone or deactivated since the
        token was checked: no longer signed in)."""
        user = await self._users.get_for_update(actor.id)
        if user is None or not user.is_active:
            raise AuthenticationError
        return user
