"""``make run``: the users service on http://127.0.0.1:8000 with its database ready.

Without ``DATABASE_URL`` an embedded PostgreSQL is started, its data kept in ``.data/users/``
between runs. Migrations are applied, then uvicorn serves the app until Ctrl+C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from devtools import embedded_pg
from servicekit.observability import ObservabilitySettings
from servicekit.server import serve

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE_DIR = REPO_ROOT / "services" / "users"
DATA_DIR = REPO_ROOT / ".data" / "users"
DATABASE_NAME = "users"


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """Make SIGTERM a normal exit, so the atexit hook that stops the embedded server runs.

    uvicorn shuts down gracefully on SIGTERM and then re-raises it: with the default handler the
    process would die there, leaving the embedded PostgreSQL running.
    """
    raise SystemExit(128 + signum)


def _database_url() -> str:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    server = embedded_pg.start(DATA_DIR / "pgdata", cleanup="stop", durable=True)
    asyncio.run(embedded_pg.create_database(server.database_url(), DATABASE_NAME, exist_ok=True))
    return server.database_url(DATABASE_NAME)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    os.environ["DATABASE_URL"] = _database_url()
    alembic = [sys.executable, "-m", "alembic", "upgrade", "head"]
    subprocess.run(alembic, cwd=SERVICE_DIR, check=True)  # noqa: S603 - fixed command
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"\nUsers service: http://{host}:{port}  API docs: http://{host}:{port}/docs\n", flush=True)  # noqa: T201
    # Graceful on SIGTERM within SHUTDOWN_GRACE_SECONDS, logs as LOG_LEVEL and LOG_FORMAT say.
    status = serve(
        "app.main:app",
        service_name="users",
        host=host,
        port=port,
        settings=ObservabilitySettings(),
        app_dir=str(SERVICE_DIR),
    )
    raise SystemExit(status)


if __name__ == "__main__":
    main()
