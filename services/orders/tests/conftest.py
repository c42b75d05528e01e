"""Shared fixtures: real PostgreSQL per xdist worker, ``db_session``, ``client``, the users service faked.

The run's databases and the fixtures on them (``test_server``, ``database_url``, ``test_engine``,
``db_connection``, ``db_session``, ``truncate_after_test``, ``closed_port``) come from servicekit's
plugin (:mod:`servicekit.testing.plugin`), configured here: once per run it starts the database
server (embedded unless ``TEST_DATABASE_URL`` is set) and migrates a template database; each worker
clones its own database from the template, and the service's settings point at it through the
environment, exactly as a deployment would. The users service is faked at the HTTP boundary
(respx): the production client makes real ``httpx`` requests to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import respx
from httpx import AsyncClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncConnection

import app.models
from app.config import Settings, get_settings
from app.database import Base
from app.main import app
from servicekit.testing.app_client import app_client
from servicekit.testing.databases import ServiceDatabases, truncate_all_tables
from servicekit.testing.settings import restored_afterwards
from tests.support.users_service import USERS_SERVICE_URL, FakeUsersService

#: Property tests assert behaviour, never timing: Hypothesis's per-example deadline would fail
#: them on a loaded machine (CI, parallel workers), so it is off for the whole suite.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

pytest_plugins = ["servicekit.testing.plugin"]

SERVICE_ROOT = Path(__file__).resolve().parents[1]
#: The service's tables and the job queue's.
TRUNCATE_ALL_TABLES = truncate_all_tables(Base.metadata, "pgqueuer", "pgqueuer_log")
DATABASES = ServiceDatabases("orders", service_root=SERVICE_ROOT, truncate=TRUNCATE_ALL_TABLES)


def pytest_configure(config: pytest.Config) -> None:
    DATABASES.configure(config, USERS_SERVICE_URL=USERS_SERVICE_URL, USERS_RETRY_INITIAL_WAIT_SECONDS="0.01")
    get_settings.cache_clear()


@pytest.fixture
def users_service() -> Iterator[FakeUsersService]:
    """The users service at ``USERS_SERVICE_URL``, faked with respx; no other host is reachable."""
    with respx.mock(base_url=USERS_SERVICE_URL, assert_all_called=False) as router:
        yield FakeUsersService(router)


@pytest.fixture
async def client(db_connection: AsyncConnection, users_service: FakeUsersService) -> AsyncIterator[AsyncClient]:
    """The app over ASGI, lifespan run, inside the test's transaction, with the users service faked.

    Each request runs the production request boundary in a savepoint of its own (see
    :mod:`servicekit.testing.app_client`; ``tests/integration/test_client_fixture.py`` proves it).
    """
    async with app_client(app, db_connection) as test_client:
        yield test_client


@pytest.fixture
async def live_client(truncate_after_test: None, users_service: FakeUsersService) -> AsyncIterator[AsyncClient]:
    """The app with its real sessions and commits (no savepoint): for concurrency tests."""
    async with app_client(app) as test_client:
        yield test_client


@pytest.fixture
def mock_settings() -> Iterator[Settings]:
    """The service's live settings; every field a test changes is restored afterwards."""
    with restored_afterwards(get_settings()) as settings:
        yield settings


@pytest.fixture
def caller(users_service: FakeUsersService) -> tuple[int, dict[str, str]]:
    """A user known to the users service, and the headers of their valid token."""
    user_id, token = users_service.add_user()
    return user_id, users_service.headers(token)
