"""Accounts: registration, authentication by password, profile changes.

``hash_password`` and ``verify_password`` are looked up in this module at call time, so tests can
patch ``app.services.user_service.hash_password``. Both run on the hashing threads
(``in_hashing_thread``): argon2id is CPU-bound and must not block the event loop.
"""

from __future__ import annotations

from typing import Protocol

from app.exceptions import InvalidCredentialsError, UserAlreadyExistsError, UserNotFoundError
from app.models.user import User
from app.repositories.user_repository import UserRepositoryPort
from app.utils.password import dummy_verify, hash_password, in_hashing_thread, verify_password


class NewUser(Protocol):
    """What registration needs (the API passes its validated request body)."""

    @property
    def email(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...


class ProfileChanges(Protocol):
    """A profile change: ``None`` leaves a field as it is."""

    @property
    def email(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def current_password(self) -> str | None: ...


class UserService:
    def __init__(self, user_repository: UserRepositoryPort) -> None:
        self.user_repository = user_repository

    async def create_user(self, user_data: NewUser) -> User:
        """Register a user. The database's unique indexes settle concurrent duplicates."""
        existing_user = await self.user_repository.get_by_email(user_data.email)
        if existing_user:
            raise UserAlreadyExistsError
        hashed_password = await in_hashing_thread(hash_password, user_data.password)
        user = User(email=user_data.email, username=user_data.username, hashed_password=hashed_password)
        return await self.user_repository.create(user)

    async def authenticate(self, email: str, password: str) -> User:
        """The active user with this email and password, or ``InvalidCredentialsError``.

        An unknown email costs a dummy verification, so both failures take the same time.
        """
        user = await self.user_repository.get_by_email(email)
        if user is None:
            await in_hashing_thread(dummy_verify, password)
            raise InvalidCredentialsError
        if not await in_hashing_thread(verify_password, password, user.hashed_password):
            raise InvalidCredentialsError
        if user.is_active is False:
            raise InvalidCredentialsError
        return user

    async def update_user(self, user_id: int, user_data: ProfileChanges) -> User:
        """Apply a profile change (no permission checks: see ``ProfileService``)."""
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
