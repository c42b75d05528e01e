"""Alembic migrations: the seed's round trip, a single head, models == migrations, DB constraints."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import app.models  # noqa: F401 - registers every table on Base.metadata
from app.database import Base
from devtools import embedded_pg
from tests.support.databases import alembic_config, create_empty_database, database_name, migrate

if TYPE_CHECKING:
    from tests.support.databases import TestServer  # a Test* name pytest must not collect

pytestmark = [pytest.mark.migrations, pytest.mark.integration]

UNIQUE_VIOLATION = "23505"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``Config("alembic.ini")`` applies the ini's logging setup; undo it for the tests that follow."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = {name: logging.getLogger(name).level for name in ("alembic", "sqlalchemy.engine")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, logger_level in loggers.items():
        logging.getLogger(name).setLevel(logger_level)


@pytest.mark.integration
def test_migrations_can_run_forward_and_backward():
    """Test that all migrations can be applied and reverted."""
    alembic_cfg = Config("alembic.ini")
    # Downgrade to base
    command.downgrade(alembic_cfg, "base")
    # Upgrade to head
    command.upgrade(alembic_cfg, "head")
    # Downgrade one version
    command.downgrade(alembic_cfg, "-1")
    # Upgrade back to head
    command.upgrade(alembic_cfg, "head")


def test_there_is_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()

    assert len(heads) == 1, f"several migration heads, merge them: {heads}"


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(context, Base.metadata)


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _run_on(database_url: str, inspection: Any) -> Any:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspection)
    finally:
        await engine.dispose()


@pytest.fixture
def empty_database_url(test_server: TestServer) -> Iterator[str]:
    """A brand-new database with no schema, dropped afterwards."""
    url = create_empty_database(test_server)
    try:
        yield url
    finally:
        name = database_name(url)
        asyncio.run(embedded_pg.drop_database(test_server.admin_url, name))


def test_empty_database_to_head_matches_the_models_and_back_to_base(empty_database_url: str) -> None:
    assert asyncio.run(_run_on(empty_database_url, _table_names)) == set()

    migrate(empty_database_url, "head")
    diff = asyncio.run(_run_on(empty_database_url, _schema_diff))
    tables_at_head = asyncio.run(_run_on(empty_database_url, _table_names))

    assert diff == [], f"models and migrations disagree, autogenerate a migration: {diff}"
    assert tables_at_head == {*Base.metadata.tables, "alembic_version"}

    command.downgrade(alembic_config(empty_database_url), "base")

    assert asyncio.run(_run_on(empty_database_url, _table_names)) == {"alembic_version"}

    migrate(empty_database_url, "head")

    assert asyncio.run(_run_on(empty_database_url, _table_names)) == tables_at_head
    assert asyncio.run(_run_on(empty_database_url, _schema_diff)) == []


@pytest.fixture
async def connection(test_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection to the worker's database inside a transaction that is rolled back."""
    async with test_engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


async def _insert_user(connection: AsyncConnection, email: str, username: str) -> int:
    result = await connection.execute(
        text("INSERT INTO users (email, username, hashed_password) VALUES (:email, :username, 'x') RETURNING id"),
        {"email": email, "username": username},
    )
    return int(result.scalar_one())


def _sqlstate(error: IntegrityError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


class TestDatabaseConstraints:
    async def test_email_is_unique_regardless_of_case(self, connection: AsyncConnection) -> None:
        await _insert_user(connection, "Case.Test@Example.com", "case_one")

        with pytest.raises(IntegrityError) as error:
            async with connection.begin_nested():
                await _insert_user(connection, "case.test@example.COM", "case_two")

        assert _sqlstate(error.value) == UNIQUE_VIOLATION
        assert "uq_users_email_lower" in str(error.value)

    async def test_username_is_unique_regardless_of_case(self, connection: AsyncConnection) -> None:
        await _insert_user(connection, "first@example.com", "CaseUser")

        with pytest.raises(IntegrityError) as error:
            async with connection.begin_nested():
                await _insert_user(connection, "second@example.com", "caseuser")

        assert _sqlstate(error.value) == UNIQUE_VIOLATION
        assert "uq_users_username_lower" in str(error.value)

    async def test_distinct_emails_and_usernames_are_accepted(self, connection: AsyncConnection) -> None:
        await _insert_user(connection, "one@example.com", "one")
        await _insert_user(connection, "two@example.com", "two")

        count = await connection.scalar(text("SELECT count(*) FROM users"))

        assert count == 2

    async def test_posts_are_deleted_with_their_user(self, connection: AsyncConnection) -> None:
        author = await _insert_user(connection, "author@example.com", "author")
        other = await _insert_user(connection, "other@example.com", "other")
        for user_id in (author, author, other):
            await connection.execute(
                text("INSERT INTO posts (title, content, user_id) VALUES ('t', 'c', :user_id)"), {"user_id": user_id}
            )

        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": author})

        remaining = (await connection.execute(text("SELECT user_id FROM posts"))).scalars().all()
        assert remaining == [other]
