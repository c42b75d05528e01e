"""The users service's declarative base; the database helpers under the seed's import path.

Engine, sessions, the transaction scope and the read side live in :mod:`servicekit.database`,
the request's ``get_db`` and ``get_read_db`` in :mod:`servicekit.dependencies` (aliased in
``app.api.deps``); they are re-exported here because the seed imports them from here
(``from app.database import get_db``). Nothing here connects at import time.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from servicekit.database import (
    NAMING_CONVENTION,
    ReadDatabase,
    TimestampMixin,
    async_url,
    create_engine,
    create_session_factory,
    driver_statement,
    transaction_scope,
)
from servicekit.dependencies import get_db, get_read_db

__all__ = [
    "APPLICATION_NAME",
    "Base",
    "ReadDatabase",
    "TimestampMixin",
    "async_url",
    "create_engine",
    "create_session_factory",
    "driver_statement",
    "get_db",
    "get_read_db",
    "transaction_scope",
]

#: How the service's connections are named in ``pg_stat_activity``.
APPLICATION_NAME = "users-service"


class Base(DeclarativeBase):
    """Declarative base of every model of this service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
