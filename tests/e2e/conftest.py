"""The whole system as real processes: users API, orders API and orders worker over real HTTP.

One PostgreSQL server for the run (embedded from the wheel, or ``TEST_DATABASE_URL``), one
database per service with a run-unique name, dropped at the end; every process is stopped at
the end of the session whatever happens, and a test that stops or kills a process gets it back
running before the next test (``system`` fixture).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from devtools import embedded_pg
from devtools.mail import local_mail_server
from devtools.net import free_port
from devtools.system import System, create_databases, drop_databases
from tests.e2e.flows import Clients


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    data_dir = Path(tempfile.mkdtemp(prefix="e2e-pg-")) / "pgdata"
    yield embedded_pg.start(data_dir, cleanup="delete", durable=False).database_url()


@contextmanager
def system_on(
    admin_url: str, log_dir: Path, env: dict[str, str] | None = None, *, worker_metrics_port: int | None = None
) -> Iterator[System]:
    """The whole system in production mode on databases of its own, ``env`` on every process;
    stopped and its databases dropped at the end."""
    run = uuid.uuid4().hex[:10]
    names = {"users": f"e2e_users_{run}", "orders": f"e2e_orders_{run}"}
    system = System(
        database_urls=create_databases(admin_url, names),
        log_dir=log_dir,
        users_port=free_port(),
        orders_port=free_port(),
        # Production, with the docs on for the browser test.
        env={"ENVIRONMENT": "production", "REDIS_URL": "", "DOCS_ENABLED": "true", **(env or {})},
        users_env={"SECRET_KEY": secrets.token_urlsafe(48)},
        worker_metrics_port=worker_metrics_port,
    )
    try:
        system.migrate()
        system.start()
        yield system
    finally:
        try:
            system.stop()
        finally:
            drop_databases(admin_url, names)


@dataclass
class MailServer:
    """A real SMTP server on this machine and every message it took, in order of arrival."""

    settings: dict[str, str]
    received: list[EmailMessage]


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    received: list[EmailMessage] = []
    with local_mail_server(received.append) as settings:
        yield MailServer(settings, received)


@pytest.fixture
def mailbox(mail_server: MailServer) -> list[EmailMessage]:
    """Every email the running system sent (tests find theirs by address: they run in any order)."""
    return mail_server.received


@pytest.fixture(scope="session")
def running_system(
    admin_url: str, tmp_path_factory: pytest.TempPathFactory, mail_server: MailServer
) -> Iterator[System]:
    with system_on(admin_url, tmp_path_factory.mktemp("logs"), mail_server.settings) as system:
        yield system


@pytest.fixture
def system(running_system: System) -> Iterator[System]:
    """The running system; whatever a test stopped or killed is started again afterwards."""
    yield running_system
    for process in running_system.processes.values():
        if not process.running:
            process.kill()  # reap a killed process's leftovers before starting it again
            process.start()


@pytest.fixture
def clients(system: System) -> Iterator[Clients]:
    with Clients.for_system(system) as both:
        yield both
