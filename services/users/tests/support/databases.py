"""The users service's test databases: servicekit's (:mod:`servicekit.testing.databases`) with its
migrations and tables."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

import app.models  # noqa: F401 - registers every table on Base.metadata
from app.database import Base
from servicekit.testing import databases
from servicekit.testing.databases import ServiceDatabases, truncate_all_tables

__all__ = ["DATABASES", "SERVICE_ROOT", "TRUNCATE_ALL_TABLES", "alembic_config"]

SERVICE_ROOT = Path(__file__).resolve().parents[2]

#: Empties every table of the service (and restarts ids), for tests that commit for real.
TRUNCATE_ALL_TABLES = truncate_all_tables(Base.metadata)

#: The run's databases and the fixtures on them (``tests/conftest.py`` configures it).
DATABASES = ServiceDatabases("users", service_root=SERVICE_ROOT, truncate=TRUNCATE_ALL_TABLES)


def alembic_config(database_url: str | None = None) -> Config:
    """The service's Alembic configuration, optionally pointed at ``database_url``."""
    return databases.alembic_config(SERVICE_ROOT, database_url)
