"""The whole system as real processes, for ``make run``, the root end-to-end tier and benchmarks.

One PostgreSQL server (embedded, or the one ``DATABASE_URL``/``TEST_DATABASE_URL`` names) holds
one database per service. Each service is migrated with its own ``alembic upgrade head`` and
served by uvicorn from its folder; the orders worker runs as ``python -m app.worker``. Processes
are mirakuru executors: started in their own process group, ready when their readiness endpoint
answers 200, stopped (SIGTERM) or killed (SIGKILL) with every child they started.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mirakuru import HTTPExecutor, SimpleExecutor

from devtools import embedded_pg

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES_DIR = REPO_ROOT / "services"
READY_PATH = "/api/v1/health/ready"
#: What the orders worker prints once it is running (``app.queue_worker.READY_BANNER``).
WORKER_READY_BANNER = "orders worker ready"
START_TIMEOUT_SECONDS = 60.0


def migrate(service: str, database_url: str, log: IO[Any] | None = None) -> None:
    """Apply every migration of ``service`` to ``database_url`` (``alembic upgrade head``)."""
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=SERVICES_DIR / service,
        env=_environment({"DATABASE_URL": database_url}),
        check=True,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
    )


def create_databases(admin_url: str, names: Mapping[str, str]) -> dict[str, str]:
    """Create (if missing) one database per service; the URL of each, by service."""

    async def create_all() -> None:
        for database in names.values():
            await embedded_pg.create_database(admin_url, database, exist_ok=True)

    asyncio.run(create_all())
    return {service: embedded_pg.with_database(admin_url, database) for service, database in names.items()}


def drop_databases(admin_url: str, names: Mapping[str, str]) -> None:
    async def drop_all() -> None:
        for database in names.values():
            await embedded_pg.drop_database(admin_url, database)

    asyncio.run(drop_all())


def _environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """What a service process gets on top of this process's environment."""
    return {"PYTHONUNBUFFERED": "1", **overrides}


@dataclass
class ServiceProcess:
    """One process of the system: an API (ready when its readiness endpoint answers) or a worker."""

    name: str
    service: str
    command: list[str]
    env: dict[str, str]
    #: Where its output goes; None: this process's own stdout (``make run``).
    log_path: Path | None
    port: int | None = None
    #: A line a worker prints once it is running and stops gracefully on SIGTERM.
    ready_banner: str | None = None
    _executor: SimpleExecutor | None = field(default=None, init=False, repr=False)
    _log: IO[Any] | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        if self.port is None:
            msg = f"{self.name} serves no HTTP"
            raise ValueError(msg)
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process and wait until it is ready (an API) or running (a worker)."""
        self._log = self.log_path.open("a", encoding="utf-8") if self.log_path is not None else None
        options: dict[str, Any] = {
            "cwd": str(SERVICES_DIR / self.service),
            "envvars": _environment(self.env),
            "stdin": subprocess.DEVNULL,
            "stdout": self._log,
            "stderr": subprocess.STDOUT if self._log is not None else None,
            "timeout": START_TIMEOUT_SECONDS,
            # uvicorn and the worker exit 0 on SIGTERM once they have shut down gracefully.
            "expected_returncode": 0,
        }
        if self.port is None:
            self._executor = SimpleExecutor(self.command, **options)
        else:
            url = f"{self.base_url}{READY_PATH}"
            self._executor = HTTPExecutor(self.command, url=url, method="GET", status=200, **options)
        try:
            self._executor.start()
            self._wait_for_banner()
        except Exception as error:
            self.kill()
            msg = f"{self.name} did not start:\n{self.output()}"
            raise RuntimeError(msg) from error

    def _wait_for_banner(self) -> None:
        """Until the ready banner is in the log (only a process that logs to a file can be watched)."""
        if self.ready_banner is None or self.log_path is None:
            return
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self.ready_banner not in self.output():
            if not self.running:
                msg = f"{self.name} exited before it was ready"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                msg = f"{self.name} printed no {self.ready_banner!r} within {START_TIMEOUT_SECONDS}s"
                raise TimeoutError(msg)
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then wait for a graceful exit (SIGKILL after the timeout)."""
        if self._executor is not None:
            self._executor.stop()
            self._executor = None
        self._close_log()

    def kill(self) -> None:
        """SIGKILL, no chance to clean up: what a crash or an OOM kill does."""
        if self._executor is not None:
            self._executor.kill()
            self._executor = None
        self._close_log()

    @property
    def running(self) -> bool:
        return self._executor is not None and self._executor.running()

    @property
    def pid(self) -> int | None:
        """The process's id while it runs (its children, e.g. uvicorn's workers, are under it)."""
        if self._executor is None or self._executor.process is None:
            return None
        return self._executor.process.pid

    def output(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def api_command(service: str, port: int, workers: int = 1) -> list[str]:
    """uvicorn through ``servicekit.server``: graceful SIGTERM (exit 0), no proxy headers trusted."""
    command = [sys.executable, "-m", "servicekit.server", "app.main:app", "--service-name", service]
    command += ["--port", str(port)]
    return [*command, "--workers", str(workers)] if workers > 1 else command


def worker_command() -> list[str]:
    return [sys.executable, "-m", "app.worker"]


@dataclass
class System:
    """The users API, the orders API and the orders worker on one database server.

    ``env`` holds what every process gets (e.g. ``ENVIRONMENT``); each service gets its own
    ``DATABASE_URL``, and the orders processes ``USERS_SERVICE_URL``. ``api_workers`` server
    processes serve each API (uvicorn's supervisor above them when more than one), and
    ``queue_workers`` orders worker processes run (``worker``, then ``worker-2``...).
    """

    database_urls: dict[str, str]
    #: One log file per process in it; None: every process writes to this process's stdout.
    log_dir: Path | None
    users_port: int
    orders_port: int
    env: dict[str, str] = field(default_factory=dict)
    users_env: dict[str, str] = field(default_factory=dict)
    #: Where the (first) worker serves its metrics (``WORKER_METRICS_PORT``); None: not served.
    worker_metrics_port: int | None = None
    api_workers: int = 1
    queue_workers: int = 1
    processes: dict[str, ServiceProcess] = field(init=False)

    def __post_init__(self) -> None:
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        users_url = f"http://127.0.0.1:{self.users_port}"
        orders_env = {**self.env, "DATABASE_URL": self.database_urls["orders"], "USERS_SERVICE_URL": users_url}
        users_env = {**self.env, **self.users_env, "DATABASE_URL": self.database_urls["users"]}
        users_command = api_command("users", self.users_port, self.api_workers)
        orders_command = api_command("orders", self.orders_port, self.api_workers)
        self.processes = {
            "users": self._process("users", "users", users_command, users_env, self.users_port),
            "orders": self._process("orders", "orders", orders_command, orders_env, self.orders_port),
        }
        for number in range(1, self.queue_workers + 1):
            name = "worker" if number == 1 else f"worker-{number}"
            # Only the first worker serves metrics: the others would find the port taken.
            worker_env = {**orders_env, **self._worker_env()} if number == 1 else orders_env
            self.processes[name] = self._process(name, "orders", worker_command(), worker_env, None)

    def _worker_env(self) -> dict[str, str]:
        return {} if self.worker_metrics_port is None else {"WORKER_METRICS_PORT": str(self.worker_metrics_port)}

    def _process(
        self, name: str, service: str, command: list[str], env: dict[str, str], port: int | None
    ) -> ServiceProcess:
        log_path = self.log_dir / f"{name}.log" if self.log_dir is not None else None
        return ServiceProcess(name, service, command, env, log_path, port)

    @property
    def users(self) -> ServiceProcess:
        return self.processes["users"]

    @property
    def orders(self) -> ServiceProcess:
        return self.processes["orders"]

    @property
    def worker(self) -> ServiceProcess:
        return self.processes["worker"]

    @property
    def worker_metrics_url(self) -> str | None:
        port = self.worker_metrics_port
        return None if port is None else f"http://127.0.0.1:{port}/metrics"

    def migrate(self) -> None:
        if self.log_dir is None:
            for service, url in self.database_urls.items():
                migrate(service, url)
            return
        with (self.log_dir / "migrations.log").open("a", encoding="utf-8") as log:
            for service, url in self.database_urls.items():
                migrate(service, url, log)

    def start(self) -> None:
        """Start every process (the users API first: the orders processes depend on it)."""
        for process in self.processes.values():
            process.start()

    def stop(self) -> None:
        """Stop every process that runs, the dependants first; kill what does not stop."""
        errors: list[BaseException] = []
        for process in reversed(self.processes.values()):
            try:
                process.stop()
            except Exception as error:  # noqa: BLE001 - stop the others too, then report
                process.kill()
                errors.append(error)
        if errors:
            msg = f"{len(errors)} process(es) did not stop cleanly: {errors}"
            raise RuntimeError(msg)
