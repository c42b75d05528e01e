"""Password hashing with argon2id (pwdlib), OWASP parameters by default.

These functions are CPU-bound on purpose (about 20-40 ms each): callers in async code run them
in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.config import get_settings

_DUMMY_PASSWORD = "dummy password that no account uses"  # noqa: S105 - not a credential


@lru_cache
def _password_hash() -> PasswordHash:
    settings = get_settings()
    hasher = Argon2Hasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )
    return PasswordHash((hasher,))


@lru_cache
def _dummy_hash() -> str:
    return hash_password(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``, exactly as given (no trimming or normalisation)."""
    return _password_hash().hash(password)


def verify_password(password: str, hashed_password: str) -> bool:
    """Whether ``password`` matches; a malformed or unknown stored hash never matches."""
    try:
        return _password_hash().verify(password, hashed_password)
    except (UnknownHashError, ValueError):
        return False


def needs_rehash(hashed_password: str) -> bool:
    """Whether a stored hash was made with other parameters than the configured ones."""
    try:
        return _password_hash().current_hasher.check_needs_rehash(hashed_password)
    except (UnknownHashError, ValueError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification, so unknown emails cannot be told apart by timing."""
    _password_hash().verify(password, _dummy_hash())


@lru_cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords of public breaches (ASVS 6.2.4 asks for 3,000).
    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """Whether ``password`` (in any letter case) is one of the most common breached passwords."""
    return password.lower() in _common_passwords()


def reset_password_hasher_cache() -> None:
    """Forget the hasher built from settings (after the settings change, e.g. in tests)."""
    _password_hash.cache_clear()
    _dummy_hash.cache_clear()
