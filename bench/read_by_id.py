"""Benchmark: GET /api/v1/users/{id} of the users service against a raw asyncpg endpoint.

Both run as one uvicorn worker on the same database, measured alternately in the same run;
the report is the ratio service / raw (the issue asks for at least 0.5).

    .venv/bin/python -m bench.read_by_id [--seconds 5] [--rounds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.http_load import run_load
from devtools import embedded_pg
from devtools.net import free_port, wait_for_http_ok

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE_DIR = REPO_ROOT / "services" / "users"


def _prepare_database() -> str:
    server = embedded_pg.start(Path(tempfile.mkdtemp(prefix="bench-pg-")) / "pgdata", cleanup="delete", durable=False)
    asyncio.run(embedded_pg.create_database(server.database_url(), "bench"))
    url = server.database_url("bench")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=SERVICE_DIR, env=env, check=True)
    asyncio.run(_seed(url))
    return url


async def _seed(url: str) -> None:
    connection = await embedded_pg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO users (email, username, hashed_password) VALUES ('bench@example.com', 'bench', 'x')"
        )
    finally:
        await connection.close()


@contextmanager
def _server(app: str, app_dir: Path, database_url: str) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development"}
    command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_for_http_ok(f"http://127.0.0.1:{port}/api/v1/users/1", process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    database_url = _prepare_database()
    path = "/api/v1/users/1"
    rates: dict[str, list[float]] = {"raw": [], "service": []}
    with (
        _server("bench.raw_app:app", REPO_ROOT, database_url) as raw_port,
        _server("app.main:app", SERVICE_DIR, database_url) as service_port,
    ):
        for port in (raw_port, service_port):
            asyncio.run(run_load("127.0.0.1", port, path, seconds=1, connections=args.connections))  # warm-up
        for _ in range(args.rounds):
            for name, port in (("raw", raw_port), ("service", service_port)):
                result = asyncio.run(
                    run_load("127.0.0.1", port, path, seconds=args.seconds, connections=args.connections)
                )
                if result.errors:
                    msg = f"{name}: {result.errors} non-200 responses"
                    raise RuntimeError(msg)
                rates[name].append(result.rate)
    best = {name: max(values) for name, values in rates.items()}
    for name, values in rates.items():
        print(f"{name:>8}: " + ", ".join(f"{value:,.0f}" for value in values) + " req/s")  # noqa: T201
    print(f"ratio service/raw (best rounds): {best['service'] / best['raw']:.2f}  (target >= 0.50)")  # noqa: T201


if __name__ == "__main__":
    main()
