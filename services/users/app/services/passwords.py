"""Password rules shared by every flow that checks or sets a signed-in user's password.

``verify_password`` and ``hash_password`` are looked up here at call time (tests patch
``app.services.passwords.verify_password``); both run on the hashing threads (``in_hashing_thread``).
"""

from __future__ import annotations

from typing import Protocol

from app.exceptions import CurrentPasswordInvalidError, TooManyAttemptsError, WeakPasswordError
from app.models.user import User
from app.utils.password import hash_password, in_hashing_thread, verify_password


class PasswordAttemptLimiter(Protocol):
    """Counts password guesses per account (the login throttle's per-account rule)."""

    async def begin_account_attempt(self, account: str) -> int | None:
        """Count a guess; the seconds to wait if the account is over its limit, else None."""
        ...

    async def record_account_success(self, account: str) -> None: ...


async def check_current_password(attempts: PasswordAttemptLimiter, user: User, password: str) -> None:
    """The current password of a signed-in user, or ``CurrentPasswordInvalidError``.

    Guesses count with failed logins of the account, so a stolen access token cannot be used to
    brute-force the password here (and then take the account over).
    """
    retry_after = await attempts.begin_account_attempt(user.email)
    if retry_after is not None:
        raise TooManyAttemptsError(retry_after, "Too many wrong passwords for this account, try again later")
    if not await in_hashing_thread(verify_password, password, user.hashed_password):
        raise CurrentPasswordInvalidError
    await attempts.record_account_success(user.email)


def check_new_password(user: User, password: str) -> None:
    """What the request schema cannot know: a new password must not be the account's own name.

    (Length and the list of common passwords are the schema's, ``NewPassword``.)
    """
    if password.lower() in (user.email.lower(), user.username.lower()):
        raise WeakPasswordError


async def new_password_hash(password: str) -> str:
    return await in_hashing_thread(hash_password, password)
