"""The pytest plugin of a service's tests on real PostgreSQL: the run's databases and the fixtures on them.

Set-up happens once per run in the controlling process: it starts the database server (embedded
unless ``TEST_DATABASE_URL`` is set) and migrates a template database. Each xdist worker then
clones its own database from the template, and the service's conftest points the service's
settings at it through the environment, exactly as a deployment would.

A service's conftest loads this plugin (``pytest_plugins = ["servicekit.testing.plugin"]``), makes
one :class:`servicekit.testing.databases.ServiceDatabases` and calls its ``configure`` from
``pytest_configure``. The plugin then provides the fixtures ``test_server``, ``database_url``,
``test_engine``, ``db_connection``, ``db_session``, ``truncate_after_test``,
``scratch_database_url`` and ``closed_port``, and drops every database it made when the run ends.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from servicekit.database import async_url
from servicekit.testing.databases import (
    SERVICE_RUN,
    TestServer,
    create_empty_database,
    database_name,
    drop_database,
    run_of,
)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the run's server and template to every worker."""
    run = run_of(node.config)
    node.workerinput[run.databases.handoff_key] = run.server.as_dict()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop this process's database; the controlling process also drops the template (unless
    the embedded server, deleted whole, held it)."""
    run = config.stash.get(SERVICE_RUN, None)
    if run is None:
        return
    drop_database(run.server, database_name(run.database_url))
    if getattr(config, "workerinput", None) is None and not run.server.embedded:
        drop_database(run.server, run.server.template)


@pytest.fixture(scope="session")
def test_server(pytestconfig: pytest.Config) -> TestServer:
    return run_of(pytestconfig).server


@pytest.fixture(scope="session")
def database_url(pytestconfig: pytest.Config) -> str:
    """URL of this worker's own database (migrated to head)."""
    return run_of(pytestconfig).database_url


@pytest.fixture(scope="session")
async def test_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The tests' own engine. Pooled: a new PostgreSQL connection per test costs ~20 ms, a pooled
    one ~1 ms. Pre-ping, because some tests terminate every backend of the worker's database."""
    engine = create_async_engine(async_url(database_url), pool_size=2, max_overflow=8, pool_pre_ping=True)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def db_connection(test_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in a transaction that is rolled back after the test: its isolation."""
    async with test_engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
async def db_session(db_connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction, which is rolled back after the test.

    ``session.commit()`` (by the test or by the code under test) only releases a savepoint,
    so every test starts from an empty database, whatever it commits.
    """
    session = AsyncSession(bind=db_connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        await session.close()


@pytest.fixture
async def truncate_after_test(pytestconfig: pytest.Config, test_engine: AsyncEngine) -> AsyncIterator[None]:
    """For tests that commit for real: every table is emptied afterwards, whatever happens.

    Each xdist worker has its own database, so this never touches another worker's data.
    """
    try:
        yield
    finally:
        async with test_engine.begin() as connection:
            await connection.execute(run_of(pytestconfig).databases.truncate)


@pytest.fixture
def scratch_database_url(test_server: TestServer) -> Iterator[str]:
    """A brand-new database with no schema, of this test alone, dropped afterwards (pass or fail).

    For migration tests: the worker's own database is never migrated in place.
    """
    url = create_empty_database(test_server)
    try:
        yield url
    finally:
        drop_database(test_server, database_name(url))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that is bound but never listens: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
