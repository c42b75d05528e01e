"""Alembic migrations on a scratch database: up, down, up again; one head; models == migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.database import Base
from servicekit.testing import databases
from servicekit.testing.databases import (
    alembic_config,
    create_empty_database,
    database_name,
    drop_database,
)
from tests.conftest import SERVICE_ROOT

pytestmark = [pytest.mark.migrations, pytest.mark.integration]

ORDER_TABLES = {"orders", "order_items", "order_status_history"}
QUEUE_TABLES = {"pgqueuer", "pgqueuer_log", "pgqueuer_schedules", "pgqueuer_statistics"}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Alembic's ini may configure logging; undo it for the tests that follow."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def scratch_url(test_server: databases.TestServer) -> Iterator[str]:
    """A database of its own, without schema: the worker's database is never migrated in place."""
    url = create_empty_database(test_server)
    try:
        yield url
    finally:
        drop_database(test_server, database_name(url))


def inspect_database(url: str, inspection: Any) -> Any:
    """Run ``inspection`` on a sync connection to ``url`` (Alembic's own commands use ``asyncio.run``)."""

    async def run() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(inspection)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [diff for diff in compare_metadata(context, Base.metadata) if "pgqueuer" not in str(diff)]


def test_there_is_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config(SERVICE_ROOT)).get_heads()) == 1


def test_upgrade_downgrade_and_upgrade_again(scratch_url: str) -> None:
    config = alembic_config(SERVICE_ROOT, scratch_url)

    command.upgrade(config, "head")
    at_head = inspect_database(scratch_url, table_names)
    command.downgrade(config, "-1")
    without_queue = inspect_database(scratch_url, table_names)
    command.downgrade(config, "base")
    at_base = inspect_database(scratch_url, table_names)
    command.upgrade(config, "head")

    assert at_head >= ORDER_TABLES | QUEUE_TABLES
    assert without_queue & QUEUE_TABLES == set()
    assert at_base - {"alembic_version"} == set()
    assert inspect_database(scratch_url, schema_diff) == []


def test_the_models_match_the_migrations(database_url: str) -> None:
    assert inspect_database(database_url, schema_diff) == []
