"""Opaque refresh tokens: 256 bits from the OS's CSPRNG, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

REFRESH_TOKEN_BYTES = 32
#: Base64url of 32 bytes is 43 characters; anything far outside that is not ours.
REFRESH_TOKEN_MAX_LENGTH = 128


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    """The digest kept in the database. SHA-256 suffices: the token has 256 bits of entropy."""
    return hashlib.sha256(token.encode()).hexdigest()
