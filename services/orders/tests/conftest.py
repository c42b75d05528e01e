"""Shared fixtures: real PostgreSQL per xdist worker, ``db_session``, ``client``, the users service faked.

Set-up happens once per run in the controlling process (``pytest_configure``): it starts the
database server (embedded unless ``TEST_DATABASE_URL`` is set) and migrates a template database.
Each worker then clones its own database from the template and points the service's settings
at it through the environment, exactly as a deployment would. The users service is faked at the
HTTP boundary (respx): the production client makes real ``httpx`` requests to it.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from httpx import AsyncClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

import app.models
from app.config import Settings, get_settings
from app.database import Base, get_db, get_read_db
from app.main import app
from servicekit.testing.app_client import running_app_client, share_session
from servicekit.testing.databases import (
    TestServer,
    alembic_migrator,
    create_worker_database,
    database_name,
    drop_database,
    start_server,
    truncate_all_tables,
)
from tests.support.users_service import USERS_SERVICE_URL, FakeUsersService

#: Property tests assert behaviour, never timing: Hypothesis's per-example deadline would fail
#: them on a loaded machine (CI, parallel workers), so it is off for the whole suite.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

SERVICE_ROOT = Path(__file__).resolve().parents[1]
#: The service's tables and the job queue's.
TRUNCATE_ALL_TABLES = truncate_all_tables(Base.metadata, "pgqueuer", "pgqueuer_log")
_SERVER_KEY = pytest.StashKey[TestServer]()
_WORKER_DB_KEY = pytest.StashKey[str]()


def _worker_id(config: pytest.Config) -> str:
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    return str(worker_input["workerid"]) if worker_input else "main"


def pytest_configure(config: pytest.Config) -> None:
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is None:
        base_dir = Path(tempfile.mkdtemp(prefix="orders-tests-"))
        server = start_server(base_dir, template_prefix="orders", migrate=alembic_migrator(SERVICE_ROOT))
    else:
        server = TestServer.from_dict(worker_input["orders_test_server"])
    config.stash[_SERVER_KEY] = server
    database_url = create_worker_database(server, _worker_id(config))
    config.stash[_WORKER_DB_KEY] = database_url
    os.environ.update(
        ENVIRONMENT="test",
        DATABASE_URL=database_url,
        USERS_SERVICE_URL=USERS_SERVICE_URL,
        USERS_RETRY_INITIAL_WAIT_SECONDS="0.01",
    )
    get_settings.cache_clear()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the run's server and template to every worker."""
    node.workerinput["orders_test_server"] = node.config.stash[_SERVER_KEY].as_dict()


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER_KEY, None)
    if server is None:
        return
    database_url = config.stash.get(_WORKER_DB_KEY, None)
    if database_url is not None:
        drop_database(server, database_name(database_url))
    if getattr(config, "workerinput", None) is None and not server.embedded:
        drop_database(server, server.template)


@pytest.fixture(scope="session")
def test_server(pytestconfig: pytest.Config) -> TestServer:
    return pytestconfig.stash[_SERVER_KEY]


@pytest.fixture(scope="session")
def database_url(pytestconfig: pytest.Config) -> str:
    """URL of this worker's own database (migrated to head)."""
    return pytestconfig.stash[_WORKER_DB_KEY]


@pytest.fixture(scope="session")
async def test_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_session(test_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test.

    ``session.commit()`` (by the test or by the code under test) only releases a savepoint,
    so every test starts from an empty database, whatever it commits.
    """
    async with test_engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
def users_service() -> Iterator[FakeUsersService]:
    """The users service at ``USERS_SERVICE_URL``, faked with respx; no other host is reachable."""
    with respx.mock(base_url=USERS_SERVICE_URL, assert_all_called=False) as router:
        yield FakeUsersService(router)


@pytest.fixture
async def client(db_session: AsyncSession, users_service: FakeUsersService) -> AsyncIterator[AsyncClient]:
    """The app over ASGI, lifespan run, each request in a savepoint of the test's ``db_session``.

    The savepoint is committed or rolled back at the request boundary exactly as ``get_db``
    commits or rolls back the real transaction; the read side reads inside the same transaction.
    """
    share_session(app, db_session, get_db=get_db, get_read_db=get_read_db)
    async with running_app_client(app) as test_client:
        yield test_client


@pytest.fixture
async def live_client(test_engine: AsyncEngine, users_service: FakeUsersService) -> AsyncIterator[AsyncClient]:
    """The app with its real sessions and commits (no savepoint): for concurrency tests.

    What it commits is truncated afterwards; each xdist worker has its own database.
    """
    try:
        async with running_app_client(app) as test_client:
            yield test_client
    finally:
        async with test_engine.begin() as connection:
            await connection.execute(TRUNCATE_ALL_TABLES)


@pytest.fixture
def mock_settings() -> Iterator[Settings]:
    """The service's live settings; every field a test changes is restored afterwards."""
    settings = get_settings()
    original = settings.model_dump()
    try:
        yield settings
    finally:
        for name, value in original.items():
            setattr(settings, name, value)


@pytest.fixture
def caller(users_service: FakeUsersService) -> tuple[int, dict[str, str]]:
    """A user known to the users service, and the headers of their valid token."""
    user_id, token = users_service.add_user()
    return user_id, users_service.headers(token)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that is bound but never listens: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
