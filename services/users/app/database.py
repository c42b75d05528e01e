"""Engine, sessions, the transaction scope and the read side. No web framework here.

Nothing here connects at import time: the application's lifespan calls :func:`create_engine`
and stores the engine and session factory on ``app.state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.util import greenlet_spawn

from app.config import Settings
from servicekit.db_errors import is_disconnect

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


def async_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs as well as the asyncpg form."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(settings: Settings) -> AsyncEngine:
    """The service's engine: a bounded pool, pre-ping off (asyncpg reports dead sockets itself)."""
    return create_async_engine(
        async_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        hide_parameters=settings.is_production,  # user input stays out of production logs
        connect_args={
            "server_settings": {"application_name": "users-service"},
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_command_timeout_seconds,
        },
    )


def create_session_factory(bind: AsyncEngine | AsyncConnection, **options: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions as the service uses them; tests bind them to a connection inside a transaction
    (``join_transaction_mode="create_savepoint"``)."""
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False, **options)


class ReadDatabase:
    """Driver connections for read-only queries that need no transaction (the read side).

    In service, a query runs on a connection checked out of the engine's pool and used at the
    driver level: no session, no SQLAlchemy execution layer, no transaction (PostgreSQL runs a
    lone statement in autocommit). Bound to a connection instead (``ReadDatabase(connection=...)``),
    it reads inside that connection's transaction: tests use this to see data they have not
    committed.
    """

    def __init__(self, engine: AsyncEngine | None = None, *, connection: AsyncConnection | None = None) -> None:
        if (engine is None) == (connection is None):
            msg = "give exactly one of engine and connection"
            raise ValueError(msg)
        self._engine = engine
        self._connection = connection

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The asyncpg connection to run one read on, returned to the pool afterwards."""
        if self._connection is not None:
            yield (await self._connection.get_raw_connection()).driver_connection
            return
        assert self._engine is not None  # noqa: S101 - guaranteed by __init__
        pooled = await self._engine.raw_connection()
        try:
            yield pooled.driver_connection
        except BaseException as error:
            if is_disconnect(error):
                # The server went away (restart, failover): drop this connection, and start a
                # fresh pool so the other pooled connections, dead too, are not handed out.
                await greenlet_spawn(pooled.invalidate, error)
                await self._engine.dispose(close=False)
            raise
        finally:
            # Check-in may touch the driver (reset, or close an invalidated connection): in a greenlet.
            await greenlet_spawn(pooled.close)


@asynccontextmanager
async def transaction_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block succeeds and rolls back when it fails.

    The request boundary (``app.api.deps.get_db``) runs every request in one. A block that never
    opened a transaction has nothing to commit.
    """
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        if session.in_transaction():
            await session.commit()


def __getattr__(name: str) -> Any:
    """``get_db`` and ``get_read_db`` are FastAPI dependencies and live in ``app.api.deps``; this
    keeps the seed's import path (``from app.database import get_db``) working, lazily, because
    ``app.api.deps`` itself imports this module."""
    if name in ("get_db", "get_read_db"):
        from app.api import deps  # noqa: PLC0415 - lazy: a top-level import would be circular

        return getattr(deps, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
