"""A service's Alembic environment: its migrations run online (async engine) or offline (SQL script).

Each service's ``alembic/env.py`` calls :func:`run_migrations` with its metadata and where its
database URL comes from; Alembic's ``sqlalchemy.url`` (set by tests and tools) wins over it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from servicekit.database import async_url, unpooled_engine

#: Alembic's ``include_object`` hook: whether autogenerate compares an object (table, index...).
IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def run_migrations(
    metadata: MetaData, default_url: Callable[[], str], *, include_object: IncludeObject | None = None
) -> None:
    """Run the migrations Alembic asked for, from a service's ``alembic/env.py``.

    ``default_url`` is called only when Alembic's configuration names no URL (the service's
    settings are not read, nor validated, when a test or tool gives one). A caller that passes
    a connection (``config.attributes["connection"]``) has the migrations run on it.
    """
    config = context.config
    if config.config_file_name is not None and config.attributes.get("configure_logger", True):
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = async_url(config.get_main_option("sqlalchemy.url") or default_url())
    options: dict[str, Any] = {"target_metadata": metadata, "include_object": include_object}

    def run(connection: Connection) -> None:
        context.configure(connection=connection, compare_type=True, **options)
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
    elif (connection := config.attributes.get("connection")) is not None:
        run(connection)
    else:
        asyncio.run(_run_online(url, run))


async def _run_online(url: str, run: Callable[[Connection], None]) -> None:
    async with unpooled_engine(url) as engine, engine.connect() as connection:
        await connection.run_sync(run)
