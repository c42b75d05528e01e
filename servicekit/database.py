"""Engine, sessions, the transaction scope and the transaction-free read side. No web framework here.

Nothing here connects at import time: a service's lifespan calls :func:`create_engine` and keeps
the engine, session factory and :class:`ReadDatabase` on ``app.state``; the request's dependencies
(:mod:`servicekit.dependencies`) use them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import DateTime, func, text
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.util import greenlet_spawn

from servicekit.db_errors import is_disconnect
from servicekit.settings import ServiceSettings

#: Deterministic constraint names, so Alembic migrations and the models always agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class TimestampMixin:
    """``created_at``/``updated_at`` maintained by the database clock.

    ``eager_defaults`` fetches them with RETURNING on an ORM flush, so no lazy load is ever needed.
    """

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's own protocol

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


_SYNC_DRIVERS = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def async_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs as well as the asyncpg form."""
    parsed = make_url(url)
    if parsed.drivername in _SYNC_DRIVERS:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(settings: ServiceSettings, *, application_name: str) -> AsyncEngine:
    """A service's engine: a bounded pool, connect and command timeouts, named in pg_stat_activity.

    Pre-ping is off: asyncpg reports dead sockets itself, and the error handlers answer 503.
    """
    return create_async_engine(
        async_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        hide_parameters=settings.is_production,  # user input stays out of production logs
        connect_args={
            "server_settings": {"application_name": application_name},
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_command_timeout_seconds,
        },
    )


@asynccontextmanager
async def unpooled_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine that keeps no connection between uses, disposed at the end of the block: for
    one-off work outside a service's lifespan (migrations, test set-up)."""
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


def create_session_factory(bind: AsyncEngine | AsyncConnection, **options: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions as a service uses them; tests bind them to a connection inside a transaction
    (``join_transaction_mode="create_savepoint"``, see :mod:`servicekit.testing.app_client`)."""
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False, **options)


@asynccontextmanager
async def transaction_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block succeeds and rolls back when it fails.

    The request boundary (:func:`servicekit.dependencies.get_db`) runs every request in one, and
    so do the tests' requests, each in a savepoint. A block that never opened a transaction has
    nothing to commit.
    """
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        if session.in_transaction():
            await session.commit()


class DriverStatement(NamedTuple):
    """SQL compiled for the driver (asyncpg) and the names of its positional parameters, in order."""

    sql: str
    parameter_names: tuple[str, ...]

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        """``values`` (by bound parameter name) in the order the SQL numbers them."""
        return [values[name] for name in self.parameter_names]


def driver_statement(statement: Any) -> DriverStatement:
    """Compile a SQLAlchemy statement once, for :meth:`ReadDatabase.driver_connection`.

    Compiled from the models, so the SQL cannot drift from the schema; run straight on the
    driver, it skips SQLAlchemy's execution layer, which costs more than a short read itself.
    """
    compiled = statement.compile(dialect=postgresql_asyncpg.dialect())  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated
    return DriverStatement(str(compiled), tuple(compiled.positiontup))


class ReadDatabase:
    """Driver connections for read-only queries that need no transaction (the read side).

    In service, a query runs on a connection checked out of the engine's pool and used at the
    driver level: no session, no SQLAlchemy execution layer, no transaction (PostgreSQL runs a
    lone statement in autocommit). Bound to a session or a connection instead
    (``ReadDatabase(session=...)``, ``ReadDatabase(connection=...)``), it reads inside that
    transaction: what the request (or the test) wrote is seen before it commits.
    """

    def __init__(
        self,
        engine: AsyncEngine | None = None,
        *,
        session: AsyncSession | None = None,
        connection: AsyncConnection | None = None,
    ) -> None:
        if sum(source is not None for source in (engine, session, connection)) != 1:
            msg = "give exactly one of engine, session and connection"
            raise ValueError(msg)
        self._engine = engine
        self._session = session
        self._connection = connection

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The asyncpg connection to run one read on, returned to the pool afterwards."""
        if self._session is not None:
            yield await session_driver_connection(self._session)
            return
        if self._connection is not None:
            yield await _driver_in_transaction(self._connection)
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


async def session_driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session``, inside its transaction (begun if need be).

    What a library that speaks asyncpg (a job queue) uses to write in the session's transaction.
    """
    return await _driver_in_transaction(await session.connection())


async def _driver_in_transaction(connection: AsyncConnection) -> Any:
    """The asyncpg connection under ``connection``, inside its transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement: until then the
    driver connection is in autocommit, so a statement is sent through SQLAlchemy first.
    """
    driver_connection: Any = (await connection.get_raw_connection()).driver_connection
    if not driver_connection.is_in_transaction():
        await connection.execute(text("SELECT 1"))
    return driver_connection


def driver_dsn(url: str) -> str:
    """``url`` as the driver (asyncpg) reads it: ``postgresql://``, Unix socket in ``?host=``."""
    return make_url(async_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
