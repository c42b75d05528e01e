"""The orders service's declarative base; its database helpers, as the users service has them.

Engine, sessions, the transaction scope and the read side live in :mod:`servicekit.database`,
the request's ``get_db`` and ``get_read_db`` in :mod:`servicekit.dependencies` (aliased in
``app.api.deps``). Nothing here connects at import time.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from servicekit.database import NAMING_CONVENTION, TimestampMixin
from servicekit.dependencies import get_db, get_read_db

__all__ = ["APPLICATION_NAME", "Base", "TimestampMixin", "get_db", "get_read_db"]

#: How the service's connections are named in ``pg_stat_activity``.
APPLICATION_NAME = "orders-service"


class Base(DeclarativeBase):
    """Declarative base of every model of this service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
