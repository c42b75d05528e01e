"""Password hashing: argon2id with the configured parameters; a malformed stored hash never matches."""

from __future__ import annotations

import contextvars
import os
import sys
import threading

import pytest
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.config import Settings, get_settings
from app.utils.password import (
    HASHING_NICENESS,
    _lower_this_threads_priority,
    hash_password,
    in_hashing_thread,
    is_common_password,
    needs_rehash,
    verify_password,
)

PASSWORD = "Correct-horse-battery-9"

#: Stored hashes that cannot be checked: each must mean "no match", never an exception (a 500).
MALFORMED_HASHES = [
    pytest.param("", id="empty"),
    pytest.param("garbage", id="not-a-hash"),  # no hasher recognises it (pwdlib's UnknownHashError)
    pytest.param("$2b$12$" + "a" * 53, id="bcrypt-not-enabled"),
    pytest.param("$argon2id$v=19$m=19456,t=2,p=1$$", id="argon2-without-salt-or-hash"),
    # An argon2 prefix with a non-ASCII byte: argon2 itself raises a ValueError (UnicodeEncodeError).
    pytest.param("$argon2id$v=19$m=19456,t=2,p=1$c2Fsd\u00e9HNhbHQ$aGFzaGhhc2g", id="argon2-non-ascii"),
]


@pytest.mark.unit
class TestHashAndVerify:
    def test_a_hash_verifies_its_password_only(self) -> None:
        hashed = hash_password(PASSWORD)

        assert verify_password(PASSWORD, hashed) is True
        assert verify_password(PASSWORD + " ", hashed) is False

    def test_hashes_are_argon2id_with_the_configured_parameters_and_salted(self) -> None:
        settings = get_settings()

        first, second = hash_password(PASSWORD), hash_password(PASSWORD)

        expected_prefix = (
            f"$argon2id$v=19$m={settings.argon2_memory_cost_kib},"
            f"t={settings.argon2_time_cost},p={settings.argon2_parallelism}$"
        )
        assert first.startswith(expected_prefix)
        assert first != second

    @pytest.mark.parametrize("stored", MALFORMED_HASHES)
    def test_a_malformed_stored_hash_never_matches(self, stored: str) -> None:
        assert verify_password(PASSWORD, stored) is False


@pytest.mark.unit
class TestNeedsRehash:
    def test_a_hash_with_the_configured_parameters_is_kept(self) -> None:
        assert needs_rehash(hash_password(PASSWORD)) is False

    def test_a_hash_with_other_parameters_is_replaced(self) -> None:
        weaker = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"

        assert needs_rehash(weaker) is True

    @pytest.mark.parametrize(
        "stored",
        ["", "garbage", "$2b$12$" + "a" * 53, "$argon2xx$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"],
        ids=["empty", "not-a-hash", "bcrypt", "unknown-variant"],
    )
    def test_a_stored_hash_without_readable_parameters_is_left_alone(self, stored: str) -> None:
        """No exception (argon2 raises ``InvalidHashError``, a ``ValueError``) and nothing to upgrade:
        the login it belongs to has already failed."""
        assert needs_rehash(stored) is False

    def test_a_readable_hash_with_other_salt_and_hash_lengths_is_replaced(self) -> None:
        assert needs_rehash("$argon2id$v=19$m=19456,t=2,p=1$$") is True


@pytest.mark.unit
@pytest.mark.parametrize(("password", "common"), [("password", True), ("PassWord", True), (PASSWORD, False)])
def test_common_passwords_are_recognised_in_any_letter_case(password: str, common: bool) -> None:
    assert is_common_password(password) is common


@pytest.mark.unit
def test_all_30000_most_common_breached_passwords_are_refused() -> None:
    breached = FREQUENCY_LISTS["passwords"]

    assert len(breached) == 30_000
    assert all(is_common_password(password) for password in breached)


@pytest.mark.unit
def test_the_default_argon2_parameters_are_owasps() -> None:
    """OWASP's argon2id minimum: 19 MiB of memory, 2 iterations, 1 degree of parallelism."""
    names = ("argon2_memory_cost_kib", "argon2_time_cost", "argon2_parallelism")

    assert tuple(Settings.model_fields[name].default for name in names) == (19456, 2, 1)


def _current_thread() -> tuple[str, int]:
    """The calling thread's name and nice value."""
    return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _fail() -> None:
    raise ValueError("from the hashing thread")


_caller_context: contextvars.ContextVar[str] = contextvars.ContextVar("caller_context")


def _seen_context(prefix: str, *, suffix: str) -> str:
    return prefix + _caller_context.get("missing") + suffix


@pytest.mark.unit
class TestHashingThreads:
    async def test_a_call_runs_on_a_hashing_thread_and_returns_its_result(self) -> None:
        name, _ = await in_hashing_thread(_current_thread)

        assert name.startswith("password-hashing")
        assert await in_hashing_thread(verify_password, PASSWORD, hash_password(PASSWORD)) is True

    async def test_an_error_reaches_the_caller(self) -> None:
        with pytest.raises(ValueError, match="from the hashing thread"):
            await in_hashing_thread(_fail)

    @pytest.mark.skipif(sys.platform != "linux", reason="a thread has its own nice value on Linux only")
    async def test_hashing_threads_run_at_a_lower_priority_than_the_event_loop(self) -> None:
        _, event_loop_nice = _current_thread()

        _, hashing_nice = await in_hashing_thread(_current_thread)

        assert hashing_nice == min(event_loop_nice + HASHING_NICENESS, 19)

    async def test_the_call_sees_the_callers_context_and_keyword_arguments(self) -> None:
        """The request id (a context variable) reaches log lines written on the hashing thread."""
        _caller_context.set("request-7")

        assert await in_hashing_thread(_seen_context, "<", suffix=">") == "<request-7>"

    @pytest.mark.skipif(sys.platform != "linux", reason="a thread has its own nice value on Linux only")
    def test_lowering_the_priority_lowers_the_calling_threads_only(self) -> None:
        """Checked on a new thread: the hashing threads above may have started before this test."""
        _, own_nice = _current_thread()
        seen: list[int] = []

        def lower_and_read() -> None:
            _lower_this_threads_priority()
            seen.append(_current_thread()[1])

        thread = threading.Thread(target=lower_and_read)
        thread.start()
        thread.join()

        assert seen == [min(own_nice + HASHING_NICENESS, 19)]
        assert _current_thread()[1] == own_nice
