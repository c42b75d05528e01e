"""``make run``: the whole system on this machine, until Ctrl+C.

The users API on http://127.0.0.1:8000, the orders API on http://127.0.0.1:8001 and the orders
worker (its metrics on http://127.0.0.1:9100/metrics), each service with its own database.
Without ``DATABASE_URL`` an embedded PostgreSQL is started, its data kept in ``.data/`` between
runs; with it, that server is used (its database name is replaced by ``users`` and ``orders``).
Migrations are applied before anything starts. Without ``SMTP_HOST``, the emails the users
service sends (verification and password-reset links) are printed here (``devtools.mail``).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from devtools import embedded_pg
from devtools.mail import local_mail_server, printer
from devtools.system import REPO_ROOT, System, create_databases

DATA_DIR = REPO_ROOT / ".data"
DATABASES = {"users": "users", "orders": "orders"}


def _admin_url() -> str:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    return embedded_pg.start(DATA_DIR / "pgdata", cleanup="stop", durable=True).database_url()


@contextmanager
def _mail_settings() -> Iterator[dict[str, str]]:
    """The configured relay (``SMTP_HOST``), else a local server that prints every email."""
    if os.environ.get("SMTP_HOST"):
        yield {}
        return
    with local_mail_server(printer()) as settings:
        yield settings


def main() -> None:
    stop_requested = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with _mail_settings() as mail:
        system = System(
            database_urls=create_databases(_admin_url(), DATABASES),
            log_dir=None,
            users_port=int(os.environ.get("USERS_PORT", "8000")),
            orders_port=int(os.environ.get("ORDERS_PORT", "8001")),
            worker_metrics_port=int(os.environ.get("WORKER_METRICS_PORT", "9100")),
            users_env=mail,
        )
        system.migrate()
        try:
            system.start()
            emails = "printed here" if mail else f"sent through {os.environ['SMTP_HOST']}"
            print(  # noqa: T201 - the command's own output
                f"\nUsers service:  {system.users.base_url}   API docs: {system.users.base_url}/docs"
                f"\nOrders service: {system.orders.base_url}   API docs: {system.orders.base_url}/docs"
                f"\nOrders worker:  metrics at {system.worker_metrics_url}"
                f"\nEmails:         {emails}"
                "\nCtrl+C stops everything.\n",
                flush=True,
            )
            stop_requested.wait()
        finally:
            system.stop()


if __name__ == "__main__":
    main()
