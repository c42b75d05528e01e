"""Administration by superusers: listing accounts, deactivating and reactivating them; and making
superusers, which only the command line and start-up do (``app.cli``), never a request."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, datetime

from app.exceptions import CannotDeactivateSelfError, UserAlreadyExistsError, UserNotFoundError
from app.models.user import User
from app.repositories.token_repository import SessionRevoker
from app.repositories.user_repository import UserRepositoryPort
from app.services.authenticator import Actor
from app.services.passwords import new_password_hash
from app.services.user_service import NewUser


class FirstSuperuser(enum.Enum):
    CREATED = "created"
    ALREADY_THERE = "a superuser exists"
    EMAIL_TAKEN = "an account that is not a superuser has this email"


class AdminService:
    def __init__(self, users: UserRepositoryPort, sessions: SessionRevoker) -> None:
        self._users = users
        self._sessions = sessions

    async def list_users(
        self, *, email_prefix: str | None, is_active: bool | None, limit: int, offset: int
    ) -> Sequence[User]:
        return await self._users.list_users(email_prefix=email_prefix, is_active=is_active, limit=limit, offset=offset)

    async def set_active(self, admin: Actor, user_id: int, *, is_active: bool) -> User:
        """Deactivate or reactivate an account. Deactivation ends every session at once (access
        tokens are refused from the next request; refresh token families are revoked, so a later
        reactivation does not bring them back)."""
        if user_id == admin.id and not is_active:
            raise CannotDeactivateSelfError
        user = await self._users.get_for_update(user_id)
        if user is None:
            raise UserNotFoundError
        user.is_active = is_active
        await self._users.update(user)
        if not is_active:
            await self._sessions.revoke_other_families(user.id, None, datetime.now(UTC))
        return user

    async def create_superuser(self, data: NewUser) -> User:
        """A new superuser, verified (an operator vouches for the address)."""
        if await self._users.get_by_email(data.email) is not None:
            raise UserAlreadyExistsError
        user = User(
            email=data.email,
            username=data.username,
            hashed_password=await new_password_hash(data.password),
            is_superuser=True,
            is_verified=True,
        )
        return await self._users.create(user)

    async def promote(self, email: str) -> User:
        """Make the existing account with this email a superuser (its password unchanged)."""
        user = await self._users.get_by_email(email)
        if user is None:
            raise UserNotFoundError
        user.is_superuser = True
        return await self._users.update(user)

    async def ensure_first_superuser(self, data: NewUser) -> FirstSuperuser:
        """Create the configured superuser when there is none. An existing ordinary account with
        the email is never promoted: whoever registered it would become a superuser."""
        if await self._users.has_superuser():
            return FirstSuperuser.ALREADY_THERE
        if await self._users.get_by_email(data.email) is not None:
            return FirstSuperuser.EMAIL_TAKEN
        await self.create_superuser(data)
        return FirstSuperuser.CREATED
