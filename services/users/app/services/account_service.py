"""The account's own lifecycle: registration with a verification link, and verifying the address."""

from __future__ import annotations

from app.exceptions import AlreadyVerifiedError, VerificationTokenInvalidError
from app.models.account_token import TokenPurpose
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepositoryPort
from app.repositories.user_repository import UserRepositoryPort
from app.services.account_tokens import AccountTokens, EmailVerification, sent_to
from app.services.limits import Limit, RateLimiter, enforce
from app.services.user_service import NewUser, UserService


class AccountService:
    def __init__(
        self,
        users: UserRepositoryPort,
        tokens: AccountTokenRepositoryPort,
        verification: EmailVerification,
        limits: RateLimiter,
    ) -> None:
        self._users = users
        self._tokens = AccountTokens(tokens)
        self._verification = verification
        self._limits = limits

    async def register(self, data: NewUser) -> User:
        """Create the account (unverified) and send a verification link to its address."""
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
