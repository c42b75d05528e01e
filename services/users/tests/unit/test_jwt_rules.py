"""Access tokens: rules that hold whatever the server's set-up and whoever asks for a token."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
from pydantic import SecretStr

from app.config import Settings
from app.utils.jwt import create_access_token, decode_access_token

SETTINGS = Settings(environment="test", secret_key=SecretStr("unit-test-secret-key-" + "0123456789" * 4))


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The process's local time zone set 14 hours ahead of UTC (as a server's may be)."""
    original = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    time.tzset()
    try:
        yield
    finally:
        if original is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = original
        time.tzset()


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
