"""Rate limits of the account flows: where a guess or a flood is possible, requests are counted."""

from __future__ import annotations

import enum
from typing import Protocol

from app.exceptions import TooManyAttemptsError


class Limit(enum.StrEnum):
    """Each limit counts requests per subject (a client address, an account, a token family)."""

    REGISTRATION_PER_CLIENT = "registration-client"
    REFRESH_PER_FAMILY = "refresh-family"
    VERIFICATION_PER_ACCOUNT = "verification-account"
    RESET_REQUEST_PER_ACCOUNT = "reset-request-account"
    RESET_REQUEST_PER_CLIENT = "reset-request-client"
    RESET_PER_ACCOUNT = "reset-account"
    RESET_PER_CLIENT = "reset-client"


class RateLimiter(Protocol):
    """Counts requests (``app.utils.throttle.RateLimits``: in Redis when configured)."""

    async def hit(self, limit: Limit, subject: str) -> int | None:
        """Count one request of ``subject``; the seconds to wait if it is over ``limit``, else None."""
        ...


async def enforce(limiter: RateLimiter, limit: Limit, subject: str) -> None:
    """Count the request; ``TooManyAttemptsError`` (429 with ``Retry-After``) past the limit."""
    retry_after = await limiter.hit(limit, subject)
    if retry_after is not None:
        raise TooManyAttemptsError(retry_after, "Too many requests, try again later")


def account_subject(email: str) -> str:
    """An email as a rate-limit subject: one account in any letter case or padding."""
    return email.strip().lower()
