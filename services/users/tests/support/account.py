"""Helpers of the account lifecycle tests: settings for one test, and the links of delivered emails."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import Message
from functools import partial

from fastapi import FastAPI
from httpx import Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.api.deps import get_transaction_opener
from app.config import get_settings
from app.database import create_session_factory, transaction_scope
from app.models.account_token import TokenPurpose
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepository
from app.services.account_tokens import AccountTokens
from app.tasks import TransactionOpener

#: A link token as the emails carry it: in the fragment, base64url.
_TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_-]+)")

VERIFY_EMAIL = "/api/v1/auth/verify-email"
REQUEST_VERIFICATION = "/api/v1/auth/request-verification"


def body_part(message: Message, content_type: str) -> str:
    """The decoded text of the part of ``message`` with this content type (exactly one)."""
    parts = [part for part in message.walk() if part.get_content_type() == content_type]
    assert len(parts) == 1, f"{len(parts)} parts of type {content_type}"
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(parts[0].get_content_charset() or "utf-8")


def link_token(message: Message, path: str) -> str:
    """The token of the link to ``{FRONTEND_URL}/{path}`` in the plain-text part; the HTML part
    must carry the same link."""
    text, html = body_part(message, "text/plain"), body_part(message, "text/html")
    link = get_settings().frontend_link(path)
    tokens = [match.group(1) for match in _TOKEN_IN_LINK.finditer(text)]
    assert len(tokens) == 1, text
    assert f"{link}#token={tokens[0]}" in text
    assert f'href="{link}#token={tokens[0]}"' in html
    return tokens[0]


def assert_rate_limited(response: Response) -> None:
    """429, the stable code, and a ``Retry-After`` within the rate-limit window."""
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "too_many_attempts"
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 0 < int(retry_after) <= get_settings().rate_limit_window_seconds


FORGOT_PASSWORD = "/api/v1/auth/forgot-password"
RESET_PASSWORD = "/api/v1/auth/reset-password"
NEW_PASSWORD = "Brand-new-passphrase-42"


def jobs_inside(application: FastAPI, connection: AsyncConnection) -> None:
    """Work done after the response (``get_transaction_opener``) in savepoints of ``connection``,
    like the requests of the ``client`` fixture, so it sees and leaves what the test can see."""
    sessions = create_session_factory(connection, join_transaction_mode="create_savepoint")

    async def in_the_test_transaction() -> TransactionOpener:
        return partial(transaction_scope, sessions)

    application.dependency_overrides[get_transaction_opener] = in_the_test_transaction


async def issue_token(session: AsyncSession, user: User, purpose: TokenPurpose, minutes: int = 30) -> str:
    """A live token of ``user`` for ``purpose``, as an emailed link would carry it."""
    return await AccountTokens(AccountTokenRepository(session)).issue(user, purpose, timedelta(minutes=minutes))
