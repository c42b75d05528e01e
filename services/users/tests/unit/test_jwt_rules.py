"""Access tokens: rules that hold whatever the server's set-up and whoever asks for a token."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
from pydantic import SecretStr

from app.config import Settings
from app.exceptions import InvalidTokenError
from app.utils.jwt import create_access_token, decode_access_token
from tests.support.auth import valid_claims
from tests.support.time_zone import local_time_zone

SETTINGS = Settings(environment="test", secret_key=SecretStr("unit-test-secret-key-" + "0123456789" * 4))


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    with local_time_zone():
        yield


@pytest.mark.unit
class TestTokenTimes:
    def test_issued_at_is_now_whatever_the_local_time_zone(self, far_from_utc: None) -> None:
        before = int(time.time())

        token = create_access_token({"sub": "1"}, settings=SETTINGS)

        payload = jwt.decode(token, options={"verify_signature": False})
        assert before <= payload["iat"] <= int(time.time())

    def test_a_fresh_token_is_accepted_whatever_the_local_time_zone(self, far_from_utc: None) -> None:
        token = create_access_token({"sub": "1"}, settings=SETTINGS)

        assert decode_access_token(token, settings=SETTINGS).user_id == 1


@pytest.mark.unit
class TestTokenIdentifier:
    def test_a_jti_given_by_the_caller_is_the_tokens_jti(self) -> None:
        jti = uuid.uuid4()

        token = create_access_token({"sub": "1", "jti": str(jti)}, settings=SETTINGS)

        assert decode_access_token(token, settings=SETTINGS).jti == jti


@pytest.mark.unit
class TestTokenLifetime:
    @pytest.mark.parametrize("expires", [2**40, 2**56], ids=["past-year-9999", "past-the-platforms-time"])
    def test_a_signed_token_expiring_beyond_any_date_is_refused_not_a_crash(self, expires: int) -> None:
        token = jwt.encode(
            valid_claims(1, SETTINGS, exp=expires),
            SETTINGS.secret_key.get_secret_value(),
            algorithm="HS256",
            headers={"typ": "at+jwt"},
        )

        with pytest.raises(InvalidTokenError):
            decode_access_token(token, settings=SETTINGS)
