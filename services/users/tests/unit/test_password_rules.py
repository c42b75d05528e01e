"""What the password helpers promise about stored hashes they did not make or cannot read."""

from __future__ import annotations

import pytest
from pwdlib.hashers.argon2 import Argon2Hasher

from app.utils.password import hash_password, needs_rehash, verify_password

PASSWORD = "correct horse battery staple"
#: Stored values a damaged or migrated row may hold: none is an argon2 hash of anything.
UNREADABLE_HASHES = [
    pytest.param("", id="empty"),
    pytest.param("not a hash at all", id="text"),
    pytest.param("$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtc2FsdA$", id="truncated-argon2"),
    pytest.param("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", id="bcrypt"),
]


@pytest.mark.unit
class TestVerifyPassword:
    def test_the_password_that_was_hashed_matches(self) -> None:
        assert verify_password(PASSWORD, hash_password(PASSWORD)) is True

    def test_another_password_does_not_match(self) -> None:
        assert verify_password(PASSWORD + "!", hash_password(PASSWORD)) is False

    @pytest.mark.parametrize("stored", UNREADABLE_HASHES)
    def test_an_unreadable_stored_hash_matches_no_password(self, stored: str) -> None:
        assert verify_password(PASSWORD, stored) is False


@pytest.mark.unit
class TestNeedsRehash:
    def test_a_hash_made_with_the_configured_parameters_is_kept(self) -> None:
        assert needs_rehash(hash_password(PASSWORD)) is False

    def test_a_hash_made_with_other_parameters_is_replaced(self) -> None:
        weaker = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)

        assert needs_rehash(weaker) is True
