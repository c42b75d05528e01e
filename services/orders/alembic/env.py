"""Alembic environment: the service's tables and database URL, run by :mod:`servicekit.migrations`."""

from __future__ import annotations

import app.models  # noqa: F401 - registers every table on Base.metadata
from app.config import get_settings
from app.database import Base
from servicekit.migrations import run_migrations


def _is_ours(_obj: object, name: str | None, type_: str, reflected: bool, _compare_to: object) -> bool:  # noqa: FBT001 - Alembic's hook signature
    """pgqueuer's tables are made by its own install script (migration 0002), not by the models."""
    return not (reflected and type_ == "table" and (name or "").startswith("pgqueuer"))


run_migrations(Base.metadata, lambda: get_settings().database_url, include_object=_is_ours)
