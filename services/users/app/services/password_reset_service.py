"""Password reset by email: asked for without revealing whether the account exists, completed
with a single-use link, and every session of the account ended."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from app.exceptions import ResetTokenInvalidError
from app.models.account_token import TokenPurpose
from app.repositories.account_token_repository import AccountTokenRepositoryPort
from app.repositories.token_repository import SessionRevoker
from app.repositories.user_repository import UserRepositoryPort
from app.services.account_tokens import AccountTokens, sent_to
from app.services.limits import Limit, RateLimiter, account_subject, enforce
from app.services.notifier import Notifier
from app.services.passwords import PasswordAttemptLimiter, check_new_password, new_password_hash


class ResetLinkSender:
    """The work behind a forgot-password request, done after its response (``app.tasks``)."""

    def __init__(
        self, users: UserRepositoryPort, tokens: AccountTokenRepositoryPort, notifier: Notifier, lifetime: timedelta
    ) -> None:
        self._users = users
        self._tokens = AccountTokens(tokens)
        self._notifier = notifier
        self._lifetime = lifetime

    async def send_reset_link(self, email: str) -> None:
        """Email a reset link to an active account with this address; for any other, do nothing."""
        user = await self._users.get_by_email(email)
        if user is None or user.is_active is False:
            return
        token = await self._tokens.issue(user, TokenPurpose.RESET_PASSWORD, self._lifetime)
        self._notifier.password_reset(user, token)


class PasswordResetService:
    def __init__(
        self,
        users: UserRepositoryPort,
        tokens: AccountTokenRepositoryPort,
        sessions: SessionRevoker,
        notifier: Notifier,
        *,
        limits: RateLimiter,
        password_attempts: PasswordAttemptLimiter,
        send_later: Callable[[str], None],
    ) -> None:
        """``send_later(email)`` runs ``ResetLinkSender.send_reset_link`` after the response."""
        self._users = users
        self._tokens = AccountTokens(tokens)
        self._sessions = sessions
        self._notifier = notifier
        self._limits = limits
        self._password_attempts = password_attempts
        self._send_later = send_later

    async def request_reset(self, email: str, client: str) -> None:
        """Accept a forgot-password request: the same work whether or not the account exists.

        Only the rate limits run here (keyed by the address as given, never by a lookup); the
        lookup, the token and the email happen after the response, so neither the answer nor
        its timing can tell an existing account from an unknown address.
        """
        await enforce(self._limits, Limit.RESET_REQUEST_PER_CLIENT, client)
        await enforce(self._limits, Limit.RESET_REQUEST_PER_ACCOUNT, account_subject(email))
        self._send_later(email)

    async def reset_password(self, token: str, new_password: str, client: str) -> None:
        """Set a new password with a live reset token, and end every session of the account.

        The account row is locked first, so a login racing the reset either finishes before it
        (and its session is ended here) or sees the new password. A refused password gives the
        token back (the transaction rolls back).
        """
        await enforce(self._limits, Limit.RESET_PER_CLIENT, client)
        found = await self._tokens.redeem(token, TokenPurpose.RESET_PASSWORD)
        user = await self._users.get_for_update(found.user_id) if found is not None else None
        if found is None or user is None or not sent_to(found, user):
            raise ResetTokenInvalidError
        await enforce(self._limits, Limit.RESET_PER_ACCOUNT, str(user.id))
        check_new_password(user, new_password)
        user.hashed_password = await new_password_hash(new_password)
        user.is_verified = True  # the link reached this address: it is the account's
        await self._users.update(user)
        await self._sessions.revoke_other_families(user.id, None, datetime.now(UTC))
        await self._password_attempts.record_account_success(user.email)  # the owner may log in again
        self._notifier.password_changed(user)
