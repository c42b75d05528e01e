"""Alembic environment: the service's tables and database URL, run by :mod:`servicekit.migrations`."""

from __future__ import annotations

import app.models  # noqa: F401 - registers every table on Base.metadata
from app.config import get_settings
from app.database import Base
from servicekit.migrations import run_migrations

run_migrations(Base.metadata, lambda: get_settings().database_url)
