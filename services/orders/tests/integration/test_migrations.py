"""Alembic migrations on a scratch database: up, down, up again; one head; models == migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from app.database import Base
from servicekit.testing.databases import alembic_config, run_sync_on
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


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [diff for diff in compare_metadata(context, Base.metadata) if "pgqueuer" not in str(diff)]


def test_there_is_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config(SERVICE_ROOT)).get_heads()) == 1


def test_upgrade_downgrade_and_upgrade_again(scratch_database_url: str) -> None:
    config = alembic_config(SERVICE_ROOT, scratch_database_url)

    command.upgrade(config, "head")
    at_head = run_sync_on(scratch_database_url, table_names)
    command.downgrade(config, "-1")
    without_queue = run_sync_on(scratch_database_url, table_names)
    command.downgrade(config, "base")
    at_base = run_sync_on(scratch_database_url, table_names)
    command.upgrade(config, "head")

    assert at_head >= ORDER_TABLES | QUEUE_TABLES
    assert without_queue & QUEUE_TABLES == set()
    assert at_base - {"alembic_version"} == set()
    assert run_sync_on(scratch_database_url, schema_diff) == []


def test_the_models_match_the_migrations(database_url: str) -> None:
    assert run_sync_on(database_url, schema_diff) == []
