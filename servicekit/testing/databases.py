"""Test databases: one migrated template per run, one clone of it per xdist worker.

With ``TEST_DATABASE_URL`` unset, an embedded PostgreSQL (pip wheel) is started for the run.
With it set, the server it names is used; every database made here has a run-unique name and
is dropped at the end, so several runs can share one server.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, TextClause, text
from sqlalchemy.engine import make_url

from devtools import embedded_pg
from servicekit.database import unpooled_engine

T = TypeVar("T")


def database_name(url: str) -> str:
    name = make_url(url).database
    if name is None:
        msg = f"no database in {url!r}"
        raise ValueError(msg)
    return name


def truncate_all_tables(metadata: MetaData, *other_tables: str) -> TextClause:
    """One statement emptying every table of ``metadata`` and ``other_tables`` (ids restarted)."""
    names = ", ".join([*(table.name for table in metadata.sorted_tables), *other_tables])
    return text(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def alembic_config(service_root: Path, database_url: str | None = None) -> Config:
    """A service's Alembic configuration, optionally pointed at ``database_url``."""
    config = Config(str(service_root / "alembic.ini"))
    config.attributes["configure_logger"] = False
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def alembic_migrator(service_root: Path) -> Callable[[str], None]:
    """``migrate(database_url)``: upgrade that database to head with the service's migrations."""

    def migrate(database_url: str) -> None:
        command.upgrade(alembic_config(service_root, database_url), "head")

    return migrate


@dataclass(frozen=True)
class TestServer:
    admin_url: str
    template: str
    embedded: bool

    def database_url(self, name: str) -> str:
        return embedded_pg.with_database(self.admin_url, name)

    def as_dict(self) -> dict[str, str]:
        return {"admin_url": self.admin_url, "template": self.template, "embedded": str(self.embedded)}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> TestServer:
        return cls(data["admin_url"], data["template"], data["embedded"] == "True")


def start_server(base_dir: Path, *, template_prefix: str, migrate: Callable[[str], None]) -> TestServer:
    """Start or reach the server, and build the migrated template database."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        admin_url = external
    else:
        server = embedded_pg.start(base_dir / "pgdata", cleanup="delete", durable=False)
        admin_url = server.database_url("postgres")
    server_info = TestServer(admin_url, f"{template_prefix}_tpl_{uuid.uuid4().hex[:10]}", embedded=not external)
    asyncio.run(embedded_pg.create_database(admin_url, server_info.template))
    migrate(server_info.database_url(server_info.template))
    return server_info


def create_worker_database(server: TestServer, worker: str) -> str:
    name = f"{server.template}_{worker}"
    asyncio.run(embedded_pg.create_database(server.admin_url, name, template=server.template))
    return server.database_url(name)


def drop_database(server: TestServer, name: str) -> None:
    asyncio.run(embedded_pg.drop_database(server.admin_url, name))


def create_empty_database(server: TestServer) -> str:
    """A fresh database with no schema at all (for migration tests)."""
    name = f"{server.template}_scratch_{uuid.uuid4().hex[:8]}"
    asyncio.run(embedded_pg.create_database(server.admin_url, name))
    return server.database_url(name)


def run_sync_on(database_url: str, inspection: Callable[[Connection], T]) -> T:
    """``inspection`` run on a sync connection to ``database_url``, from code without an event loop
    (as Alembic's commands, which use ``asyncio.run`` themselves)."""

    async def run() -> T:
        async with unpooled_engine(database_url) as engine, engine.connect() as connection:
            return await connection.run_sync(inspection)

    return asyncio.run(run())


class ServiceDatabases:
    """One service's test databases: a migrated template per run, a clone of it per xdist worker.

    ``service`` names the template and the hand-off to xdist workers (``<service>_test_server``
    in ``workerinput``); ``service_root`` holds the service's ``alembic.ini``; ``truncate``
    empties every table, after tests that commit for real.
    """

    def __init__(self, service: str, *, service_root: Path, truncate: TextClause) -> None:
        self.service = service
        self.service_root = service_root
        self.truncate = truncate

    @property
    def handoff_key(self) -> str:
        return f"{self.service}_test_server"

    def start_server(self, base_dir: Path) -> TestServer:
        """Start or reach the server, and migrate the run's template database."""
        return start_server(base_dir, template_prefix=self.service, migrate=alembic_migrator(self.service_root))

    def configure(self, config: pytest.Config, **environment: str) -> str:
        """Called by ``pytest_configure``: this process's database, migrated; its URL is returned.

        The controlling process starts the server and migrates the template; an xdist worker (or
        a mutation-testing session) gets both through ``workerinput`` and only clones. The service
        is then configured through the environment, as a deployment would be: ``ENVIRONMENT=test``,
        ``DATABASE_URL`` this database, and ``environment``.
        """
        worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
        if worker_input is None:
            server = self.start_server(Path(tempfile.mkdtemp(prefix=f"{self.service}-tests-")))
        else:
            server = TestServer.from_dict(worker_input[self.handoff_key])
        worker = str(worker_input["workerid"]) if worker_input else "main"
        database_url = create_worker_database(server, worker)
        config.stash[SERVICE_RUN] = ServiceRun(self, server, database_url)
        os.environ.update(ENVIRONMENT="test", DATABASE_URL=database_url, **environment)
        return database_url


@dataclass(frozen=True)
class ServiceRun:
    """What :meth:`ServiceDatabases.configure` made in this process."""

    databases: ServiceDatabases
    server: TestServer
    database_url: str


#: Where :meth:`ServiceDatabases.configure` keeps what it made (the plugin's hooks and fixtures read it).
SERVICE_RUN = pytest.StashKey[ServiceRun]()


def run_of(config: pytest.Config) -> ServiceRun:
    """What :meth:`ServiceDatabases.configure` made in this process."""
    try:
        return config.stash[SERVICE_RUN]
    except KeyError:
        msg = "no ServiceDatabases configured: call its configure() from the conftest's pytest_configure"
        raise RuntimeError(msg) from None
