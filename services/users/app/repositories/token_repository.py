from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from app.models.token import RefreshToken, RevokedAccessToken, TokenFamily
from app.repositories.base import SqlRepository


class SessionRevoker(Protocol):
    """Ends a user's login sessions (refresh token families and their access tokens)."""

    async def revoke_other_families(self, user_id: int, keep: uuid.UUID | None, revoked_at: datetime) -> None:
        """Revoke every live family of ``user_id`` except ``keep``, at ``revoked_at`` (timezone-aware)."""
        ...


class TokenRepositoryPort(SessionRevoker, Protocol):
    """What the services need from token storage (the SQL adapter or an in-memory fake)."""

    async def create_family(self, user_id: int, expires_at: datetime) -> TokenFamily: ...
    async def add_refresh_token(self, family_id: uuid.UUID, token_hash: str, expires_at: datetime) -> None: ...
    async def get_for_rotation(self, token_hash: str) -> tuple[RefreshToken, TokenFamily] | None:
        """The token and its family, locked against concurrent rotation until the transaction ends."""
        ...

    async def mark_used(self, token: RefreshToken, used_at: datetime) -> None: ...
    async def revoke_family(self, family_id: uuid.UUID, revoked_at: datetime) -> None: ...
    async def revoke_access_token(self, jti: uuid.UUID, expires_at: datetime) -> None: ...


class TokenRepository(SqlRepository):
    """Refresh token families and access token revocations."""

    async def create_family(self, user_id: int, expires_at: datetime) -> TokenFamily:
        family = TokenFamily(id=uuid.uuid4(), user_id=user_id, expires_at=expires_at)
        self.session.add(family)
        await self.session.flush()
        return family

    async def add_refresh_token(self, family_id: uuid.UUID, token_hash: str, expires_at: datetime) -> None:
        self.session.add(RefreshToken(family_id=family_id, token_hash=token_hash, expires_at=expires_at))
        await self.session.flush()

    async def get_for_rotation(self, token_hash: str) -> tuple[RefreshToken, TokenFamily] | None:
        """The token and its family, row-locked so concurrent rotations of one token serialise."""
        statement = (
            select(RefreshToken, TokenFamily)
            .join(TokenFamily, TokenFamily.id == RefreshToken.family_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=[RefreshToken, TokenFamily])
        )
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row is not None else None

    async def mark_used(self, token: RefreshToken, used_at: datetime) -> None:
        token.used_at = used_at
        await self.session.flush()

    async def revoke_family(self, family_id: uuid.UUID, revoked_at: datetime) -> None:
        statement = (
            update(TokenFamily)
            .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=revoked_at)
        )
        await self.session.execute(statement)

    async def revoke_other_families(self, user_id: int, keep: uuid.UUID | None, revoked_at: datetime) -> None:
        """Revoke every live family of ``user_id`` except ``keep``."""
        statement = update(TokenFamily).where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
        if keep is not None:
            statement = statement.where(TokenFamily.id != keep)
        await self.session.execute(statement.values(revoked_at=revoked_at))

    async def revoke_access_token(self, jti: uuid.UUID, expires_at: datetime) -> None:
        statement = insert(RevokedAccessToken).values(jti=jti, expires_at=expires_at).on_conflict_do_nothing()
        await self.session.execute(statement)
