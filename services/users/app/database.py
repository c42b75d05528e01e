"""Engine, sessions and the request-scoped transaction boundary.

Nothing here connects at import time: the application's lifespan calls :func:`create_engine`
and stores the engine and session factory on ``app.state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.config import Settings

#: Deterministic constraint names, so Alembic migrations and the models always agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model of this service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """``created_at``/``updated_at`` maintained by the database clock.

    ``eager_defaults`` fetches them with RETURNING on flush, so no lazy load is ever needed.
    """

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's own protocol

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


_READ_ONLY = "read_only"


def async_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs as well as the asyncpg form."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(settings: Settings, **overrides: Any) -> AsyncEngine:
    """The service's engine: a bounded pool, pre-ping off (asyncpg reports dead sockets itself)."""
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_seconds,
        "connect_args": {"server_settings": {"application_name": "users-service"}},
    }
    options.update(overrides)
    return create_async_engine(async_url(settings.database_url), **options)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; commits when the handler succeeds, rolls back otherwise.

    Declared with ``scope="function"`` (see ``app.api.deps.SessionDep``), so the commit happens
    before the response is sent: a 2xx always means the write is durable.
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with factory() as session:
        try:
            yield session
        except BaseException as exc:
            if getattr(exc, "persist_changes", False):
                await session.commit()
            else:
                await session.rollback()
            raise
        else:
            if not session.info.get(_READ_ONLY):
                await session.commit()


async def read_only_connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, for a request that only reads.

    If the session has not started a transaction yet, the connection is checked out in
    autocommit mode: no BEGIN/ROLLBACK round trips, and ``get_db`` skips its commit. A session
    that is already inside a transaction (an authenticated request, or a test's savepoint
    session) is used as it is. Only for handlers that never write afterwards.
    """
    if session.in_transaction() or isinstance(session.bind, AsyncConnection):
        # Already transactional, or bound to a caller's connection (a test's outer transaction).
        return await session.connection()
    session.info[_READ_ONLY] = True
    return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
