"""Password hashing with argon2id (pwdlib), OWASP parameters by default.

These functions are CPU-bound on purpose (about 20-40 ms each): callers in async code run them
with :func:`in_hashing_thread`, off the event loop, on threads of their own.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import ParamSpec, TypeVar

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.config import get_settings

_DUMMY_PASSWORD = "dummy password that no account uses"  # noqa: S105 - not a credential
#: How much lower than the process the hashing threads are scheduled (nice steps, Linux).
HASHING_NICENESS = 10
_MAX_NICE = 19

P = ParamSpec("P")
T = TypeVar("T")


def _lower_this_threads_priority() -> None:
    """On Linux each thread has its own nice value: this lowers the calling thread's only."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    current = os.getpriority(os.PRIO_PROCESS, thread)
    os.setpriority(os.PRIO_PROCESS, thread, min(current + HASHING_NICENESS, _MAX_NICE))


@lru_cache
def _hashing_executor() -> ThreadPoolExecutor:
    """At most one hashing thread per core, each at a lower priority than the event loop.

    On ``asyncio.to_thread``'s default pool (min(32, cores + 4) threads) a login flood ran six
    hashes at once on two cores and left the event loop a fraction of a core: every other request
    waited behind them (GET p99 15x its idle value). Here a flood uses the CPU the event loop
    leaves, and the event loop gets a core whenever it has work.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return ThreadPoolExecutor(
        max_workers=cores, thread_name_prefix="password-hashing", initializer=_lower_this_threads_priority
    )


async def in_hashing_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``await in_hashing_thread(verify_password, password, hashed)``: like ``asyncio.to_thread``,
    on the hashing threads."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_hashing_executor(), call)


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
