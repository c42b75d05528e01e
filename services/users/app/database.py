"""Engine, sessions and the request-scoped transaction boundary.

Nothing here connects at import time: the application's lifespan calls :func:`create_engine`
and stores the engine and session factory on ``app.state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.util import greenlet_spawn

from app.config import Settings
from app.db_errors import is_disconnect

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


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadDatabase:
    """Driver connections for read-only queries that need no transaction (the read side).

    In service, a query runs on a connection checked out of the engine's pool and used at the
    driver level: no session, no SQLAlchemy execution layer, no transaction (PostgreSQL runs a
    lone statement in autocommit). Bound to a session instead (``ReadDatabase(session=...)``), it
    reads inside that session's transaction: tests use this to see data they have not committed.
    """

    def __init__(self, engine: AsyncEngine | None = None, *, session: AsyncSession | None = None) -> None:
        if (engine is None) == (session is None):
            msg = "give exactly one of engine and session"
            raise ValueError(msg)
        self._engine = engine
        self._session = session

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The asyncpg connection to run one read on, returned to the pool afterwards."""
        if self._session is not None:
            connection = await self._session.connection()
            yield (await connection.get_raw_connection()).driver_connection
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


async def get_read_db(request: Request) -> ReadDatabase:
    """The application's read side (a plain dependency: no per-request set-up or teardown)."""
    read_db: ReadDatabase = request.app.state.read_db
    return read_db


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; commits when the handler succeeds, rolls back otherwise.

    Declared with ``scope="function"`` (see ``app.api.deps.SessionDep``), so the commit happens
    before the response is sent: a 2xx always means the write is durable. A request that never
    opened a transaction has nothing to commit.
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
            if session.in_transaction():
                await session.commit()
