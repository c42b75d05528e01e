"""The users service as a real process started the production way: ``python -m servicekit.server``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools.net import free_port, wait_for_http_ok
from tests.support.databases import SERVICE_ROOT

STARTUP_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 30.0


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    port: int
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM and wait; the exit status (SIGKILL, and a failure, if it does not stop)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_DEADLINE_SECONDS)
                msg = f"the service did not stop within {STOP_DEADLINE_SECONDS}s\n{self.output()}"
                raise AssertionError(msg) from None
        return self.process.returncode


def production_env(database_url: str, **overrides: str) -> dict[str, str]:
    """Production settings on this worker's database and SMTP port, plus ``overrides``. The
    suite's cheap argon2 parameters (conftest) are left out: a real process hashes as deployed."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL" and not key.startswith("ARGON2_")}
    env.update(
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=os.environ["SMTP_PORT"],
    )
    env.update(overrides)
    return env


@contextmanager
def running_server(env: dict[str, str], log_dir: Path) -> Iterator[ServerProcess]:
    """``python -m servicekit.server app.main:app`` on a free port, ready; stopped at the end."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "servicekit.server",
        "app.main:app",
        "--service-name",
        "users",
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed command, our own interpreter
            command, cwd=SERVICE_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", port, log_path)
    try:
        wait_for_http_ok(
            f"{server.base_url}/api/v1/health/ready",
            process,
            deadline_seconds=STARTUP_DEADLINE_SECONDS,
            describe=server.output,
        )
        yield server
    finally:
        server.stop()
