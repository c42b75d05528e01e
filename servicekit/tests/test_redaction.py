"""The redaction filter: secrets in messages, arguments, extra fields and tracebacks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from servicekit.redaction import REDACTED, RedactionFilter, redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password": "hunter 2", "email": "a@b.c"}', f'{{"password": "{REDACTED}", "email": "a@b.c"}}'),
        ("password=abc&page=2", f"password={REDACTED}&page=2"),
        ("{'refresh_token': 'r4nd0m'}", f"{{'refresh_token': '{REDACTED}'}}"),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: {REDACTED}"),
        ("Cookie: sid=abc; theme=dark", f"Cookie: {REDACTED}"),
        ("[(b'host', b'x'), (b'cookie', b'sid=abc')]", f"[(b'host', b'x'), (b'cookie', b'{REDACTED}')]"),
        (f"sent Bearer {JWT} upstream", f"sent Bearer {REDACTED} upstream"),
        (f"claims of {JWT}", f"claims of {REDACTED}"),
        ("user 42 logged in from 10.0.0.1", "user 42 logged in from 10.0.0.1"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(logging.Formatter("%(message)s %(token)s %(details)s"))
    logger = logging.getLogger("servicekit.tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_arguments_extras_and_tracebacks_are_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError(f"bad header Bearer {JWT}")
    except ValueError:
        logger.exception(
            "login with %s", {"password": "s3cret-pw"}, extra={"token": "raw-token", "details": {"api_key": "k-123"}}
        )

    output = stream.getvalue()
    for secret in ("s3cret-pw", "raw-token", "k-123", JWT):
        assert secret not in output
    assert "ValueError: bad header Bearer [REDACTED]" in output
