"""Opaque secrets (refresh tokens, emailed link tokens): 256 bits from the OS's CSPRNG, stored only
as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32
REFRESH_TOKEN_BYTES = TOKEN_BYTES
#: Base64url of 32 bytes is 43 characters; anything far outside that is not ours.
TOKEN_MAX_LENGTH = 128
REFRESH_TOKEN_MAX_LENGTH = TOKEN_MAX_LENGTH


def new_opaque_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """The digest kept in the database. SHA-256 suffices: the token has 256 bits of entropy."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return new_opaque_token()


def hash_refresh_token(token: str) -> str:
    return token_digest(token)
