"""Single-use tokens of emailed links: issued, then redeemed once, within their lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.models.account_token import AccountToken, TokenPurpose
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepositoryPort
from app.services.notifier import Notifier
from app.utils.tokens import new_opaque_token, token_digest


class AccountTokens:
    def __init__(self, repository: AccountTokenRepositoryPort) -> None:
        self._repository = repository

    async def issue(self, user: User, purpose: TokenPurpose, lifetime: timedelta) -> str:
        """A new token for ``user.email``; the account's previous token for ``purpose`` stops working."""
        token = new_opaque_token()
        expires_at = datetime.now(UTC) + lifetime
        await self._repository.replace(user.id, purpose, token_digest(token), user.email, expires_at)
        return token

    async def redeem(self, token: str, purpose: TokenPurpose) -> AccountToken | None:
        """The live token, consumed (deleted): None if it is unknown, used or expired.

        It is locked first, so of two concurrent uses the second finds it gone. If the request
        fails afterwards, the rollback gives the token back.
        """
        found = await self._repository.get_for_use(token_digest(token), purpose)
        if found is None:
            return None
        await self._repository.discard(found.user_id, purpose)
        if found.expires_at <= datetime.now(UTC):
            return None
        return found


def sent_to(token: AccountToken, user: User | None) -> bool:
    """Whether ``user`` is active and still has the address ``token`` was sent to."""
    return user is not None and user.is_active is not False and user.email.lower() == token.email.lower()


class EmailVerification:
    """Sends a verification link to an account's current address (at registration, on change, on request)."""

    def __init__(self, repository: AccountTokenRepositoryPort, notifier: Notifier, lifetime: timedelta) -> None:
        self._tokens = AccountTokens(repository)
        self._notifier = notifier
        self._lifetime = lifetime

    async def send(self, user: User) -> None:
        token = await self._tokens.issue(user, TokenPurpose.VERIFY_EMAIL, self._lifetime)
        self._notifier.verification(user, token)
