"""``DATABASE_URL`` in any of the forms PostgreSQL hosts hand out becomes an asyncpg URL."""

from __future__ import annotations

import pytest

from app.database import async_url


@pytest.mark.unit
@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://app:secret@db.internal:5432/users", "postgresql+asyncpg://app:secret@db.internal:5432/users"),
        ("postgresql://app:secret@db.internal:5432/users", "postgresql+asyncpg://app:secret@db.internal:5432/users"),
        ("postgresql+psycopg://app@db.internal/users", "postgresql+asyncpg://app@db.internal/users"),
        ("postgresql+psycopg2://app@db.internal/users", "postgresql+asyncpg://app@db.internal/users"),
        ("postgresql+asyncpg://app@db.internal/users", "postgresql+asyncpg://app@db.internal/users"),
    ],
    ids=["postgres", "postgresql", "psycopg", "psycopg2", "asyncpg"],
)
def test_every_postgresql_scheme_is_served_by_asyncpg(given: str, used: str) -> None:
    assert async_url(given) == used


@pytest.mark.unit
def test_the_password_and_options_survive_unmasked() -> None:
    url = "postgres://app:p%40ss%2Fword@db.internal:6432/users?ssl=require"

    assert async_url(url) == "postgresql+asyncpg://app:p%40ss%2Fword@db.internal:6432/users?ssl=require"
