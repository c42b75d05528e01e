from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from app.models.account_token import AccountToken, TokenPurpose
from app.repositories.base import SqlRepository


class AccountTokenRepositoryPort(Protocol):
    """What the services need from single-use token storage (the SQL adapter or an in-memory fake)."""

    async def replace(
        self, user_id: int, purpose: TokenPurpose, token_hash: str, email: str, expires_at: datetime
    ) -> None:
        """Store the account's token for ``purpose``; the previous one, if any, is gone."""
        ...

    async def get_for_use(self, token_hash: str, purpose: TokenPurpose) -> AccountToken | None:
        """The token, locked until the transaction ends: of two concurrent uses, one waits for the
        other and then finds it gone."""
        ...

    async def discard(self, user_id: int, purpose: TokenPurpose) -> None:
        """Delete the account's token for ``purpose`` (used, or no longer wanted)."""
        ...


class AccountTokenRepository(SqlRepository):
    async def replace(
        self, user_id: int, purpose: TokenPurpose, token_hash: str, email: str, expires_at: datetime
    ) -> None:
        """One statement (an upsert on the primary key): concurrent requests leave one token, the last."""
        values = {"token_hash": token_hash, "email": email, "expires_at": expires_at}
        statement = insert(AccountToken).values(user_id=user_id, purpose=purpose.value, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[AccountToken.user_id, AccountToken.purpose],
            set_={**values, "created_at": statement.excluded.created_at},
        )
        await self.session.execute(statement)

    async def get_for_use(self, token_hash: str, purpose: TokenPurpose) -> AccountToken | None:
        statement = (
            select(AccountToken)
            .where(AccountToken.token_hash == token_hash, AccountToken.purpose == purpose.value)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).first()

    async def discard(self, user_id: int, purpose: TokenPurpose) -> None:
        statement = delete(AccountToken).where(AccountToken.user_id == user_id, AccountToken.purpose == purpose.value)
        await self.session.execute(statement)
