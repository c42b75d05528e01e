"""No secret in any log line at any level, in a real process logging everything at DEBUG.

The service runs as in production (JSON lines) but with ``LOG_LEVEL=DEBUG`` on every logger
(root, so SQLAlchemy's engine, uvicorn, httpx and the app's own), through a whole session's
life: register, login, refresh, logout, a failed login, and a refused token, with an
``Authorization`` header and a ``Cookie`` on the way. Then the output is searched for each secret.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import unique_email, unique_username
from tests.support.databases import TRUNCATE_ALL_TABLES
from tests.support.server_process import production_env, running_server
from tests.support.smtp import RecordingHandler

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API = "/api/v1"


@pytest.fixture
async def truncated_afterwards(test_engine: AsyncEngine) -> object:
    yield None
    async with test_engine.begin() as connection:
        await connection.execute(TRUNCATE_ALL_TABLES)


async def _session_life(http: httpx.AsyncClient, password: str, cookie: str) -> list[str]:
    """Every step of a session; returns the secrets it handled."""
    email = unique_email()
    register = await http.post(
        f"{API}/users", json={"email": email, "username": unique_username(), "password": password}
    )
    assert register.status_code == 201, register.text
    failed = await http.post(f"{API}/auth/login", json={"email": email, "password": password + "-wrong"})
    assert failed.status_code == 401
    login = await http.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200
    first = login.json()
    authorization = f"Bearer {first['access_token']}"
    me = await http.get(f"{API}/users/me", headers={"Authorization": authorization, "Cookie": f"session={cookie}"})
    assert me.status_code == 200
    refresh = await http.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refresh.status_code == 200
    second = refresh.json()
    logout = await http.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert logout.status_code == 200
    refused = await http.get(f"{API}/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert refused.status_code == 401
    reused = await http.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    return [
        password,
        cookie,
        authorization,
        first["access_token"],
        first["refresh_token"],
        second["access_token"],
        second["refresh_token"],
    ]


async def test_no_secret_reaches_the_logs_at_debug(
    truncated_afterwards: object, database_url: str, smtp_server: RecordingHandler, tmp_path: Path
) -> None:
    password = f"Pw-{secrets.token_hex(8)}!"
    cookie = secrets.token_urlsafe(24)
    env = production_env(database_url, LOG_LEVEL="DEBUG", LOG_FORMAT="json")

    with running_server(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as http:
            handled = await _session_life(http, password, cookie)
        exit_status = server.stop()
    output = server.output()

    assert exit_status == 0, output
    records = [json.loads(line) for line in output.splitlines()]
    loggers = {record["logger"] for record in records}
    assert {"sqlalchemy.engine.Engine", "servicekit.requests", "uvicorn.error"} <= loggers, loggers
    assert any(record["level"] == "DEBUG" for record in records)
    routes = [record["route"] for record in records if record["logger"] == "servicekit.requests"]
    assert len([route for route in routes if not route.endswith("/health/ready")]) == 8
    for secret in handled:
        assert secret not in output, f"a secret of {len(secret)} characters is in the log"
