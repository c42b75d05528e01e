"""Accounts: registration, authentication by password, profile changes.

``hash_password`` and ``verify_password`` are looked up in this module at call time, so tests can
patch ``app.services.user_service.hash_password``. Both run in a worker thread: argon2id is
CPU-bound and must not block the event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Protocol

from app.exceptions import (
    CurrentPasswordInvalidError,
    InvalidCredentialsError,
    PermissionDeniedError,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from app.models.user import User
from app.repositories.user_repository import UserRepositoryPort
from app.schemas.user import UserCreate, UserUpdate
from app.utils.password import dummy_verify, hash_password, verify_password


class SessionRevoker(Protocol):
    """Ends a user's login sessions (refresh token families and their access tokens)."""

    async def revoke_other_families(self, user_id: int, keep: uuid.UUID | None, revoked_at: datetime) -> None: ...


class UserService:
    def __init__(self, user_repository: UserRepositoryPort, sessions: SessionRevoker | None = None) -> None:
        self.user_repository = user_repository
        self._sessions = sessions

    async def create_user(self, user_data: UserCreate) -> User:
        """Register a user. The database's unique indexes settle concurrent duplicates."""
        existing_user = await self.user_repository.get_by_email(user_data.email)
        if existing_user:
            raise UserAlreadyExistsError
        hashed_password = await asyncio.to_thread(hash_password, user_data.password)
        user = User(email=user_data.email, username=user_data.username, hashed_password=hashed_password)
        return await self.user_repository.create(user)

    async def authenticate(self, email: str, password: str) -> User:
        """The active user with this email and password, or ``InvalidCredentialsError``.

        An unknown email costs a dummy verification, so both failures take the same time.
        """
        user = await self.user_repository.get_by_email(email)
        if user is None:
            await asyncio.to_thread(dummy_verify, password)
            raise InvalidCredentialsError
        if not await asyncio.to_thread(verify_password, password, user.hashed_password):
            raise InvalidCredentialsError
        if user.is_active is False:
            raise InvalidCredentialsError
        return user

    async def get_user(self, user_id: int) -> User:
        user = await self.user_repository.get_by_id(user_id)
        if user is None:
            raise UserNotFoundError
        return user

    async def update_user(self, user_id: int, user_data: UserUpdate) -> User:
        """Apply a profile change (no permission checks: see ``update_own_profile``)."""
        user = await self.user_repository.get_by_id(user_id)
        if not user:
            msg = f"User {user_id} not found"
            raise UserNotFoundError(msg)
        if user_data.email:
            if user_data.email.lower() != user.email.lower():
                user.is_verified = False  # the new address has not been verified
            user.email = user_data.email
        if user_data.username:
            user.username = user_data.username
        return await self.user_repository.update(user)

    async def update_own_profile(
        self, actor: User, user_id: int, user_data: UserUpdate, current_session: uuid.UUID | None = None
    ) -> User:
        """A user changes their own profile; an email change needs the current password.

        A new email ends every other session of the account (whoever took it over is logged out);
        ``current_session`` (the caller's token family) stays.
        """
        if actor.id != user_id:
            raise PermissionDeniedError
        old_email = actor.email.lower()
        if user_data.email is not None:
            password = user_data.current_password or ""
            if not await asyncio.to_thread(verify_password, password, actor.hashed_password):
                raise CurrentPasswordInvalidError
        user = await self.update_user(user_id, user_data)
        if self._sessions is not None and user.email.lower() != old_email:
            await self._sessions.revoke_other_families(user.id, current_session, datetime.now(UTC))
        return user
