"""What the running system writes about itself: request ids across services, no secret in any
log at any level, and the worker's metrics, read from the real processes' outputs.

The processes log JSON lines (``ENVIRONMENT=production``); the log-secrets test starts a system of
its own at ``DEBUG`` (every logger: SQLAlchemy's statements, uvicorn, httpx and httpcore, the
services' own) and stops it before reading what every process wrote.
"""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.net import free_port
from devtools.system import ServiceProcess, System
from servicekit.testing.metrics import value
from tests.e2e.conftest import system_on
from tests.e2e.flows import Account, Clients, wait_for

pytestmark = pytest.mark.e2e

ONE_BOOK = {"items": [{"sku": "BOOK-1", "quantity": 1, "unit_price": "9.99"}]}
LOG_WITHIN_SECONDS = 10.0


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log records of a process's output (the worker's ready banner is plain text)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def lines_of(process: ServiceProcess, request_id: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(process.output()) if line.get("request_id") == request_id]


def request_lines(lines: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [
        (line["http_method"], line["route"], line["status"])
        for line in lines
        if line["logger"] == "servicekit.requests"
    ]


def logged_request(process: ServiceProcess, request_id: str) -> list[dict[str, Any]] | None:
    """The process's lines for ``request_id`` once its request line is among them, else None."""
    lines = lines_of(process, request_id)
    return lines if request_lines(lines) else None


def test_the_users_service_logs_its_part_of_an_orders_request_under_the_same_id(
    system: System, clients: Clients
) -> None:
    account = clients.register_and_login()
    request_id = f"e2e-{uuid.uuid4().hex}"

    placed = clients.orders.post("/orders", json=ONE_BOOK, headers={**account.headers, "X-Request-ID": request_id})
    # A request's own log line is written once its response has gone: wait for that line.
    users_lines = wait_for(
        lambda: logged_request(system.users, request_id), within=LOG_WITHIN_SECONDS, what="users line"
    )
    orders_lines = wait_for(
        lambda: logged_request(system.orders, request_id), within=LOG_WITHIN_SECONDS, what="orders line"
    )

    assert placed.status_code == 202, placed.text
    assert placed.headers["X-Request-ID"] == request_id
    assert request_lines(users_lines) == [("GET", "/api/v1/users/me", 200)]
    assert {line["service"] for line in users_lines} == {"users"}
    assert request_lines(orders_lines) == [("POST", "/api/v1/orders", 202)]
    assert any(line["logger"] == "httpx" and "/api/v1/users/me" in line["message"] for line in orders_lines)


def session_and_order_life(clients: Clients, password: str, cookie: str) -> list[str]:
    """Register, fail a login, log in, order (confirmed by the worker), refresh, log out, and be
    refused everywhere afterwards, with an ``Authorization`` header and a ``Cookie`` on the way.
    Returns every secret it handled."""
    email = f"secrets.{uuid.uuid4().hex[:16]}@example.com"
    body = {"email": email, "username": f"s_{uuid.uuid4().hex[:16]}", "password": password}
    registered = clients.users.post("/users", json=body)
    assert registered.status_code == 201, registered.text
    assert clients.users.post("/auth/login", json={"email": email, "password": f"{password}-wrong"}).status_code == 401
    login = clients.users.post("/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    first = login.json()
    authorization = f"Bearer {first['access_token']}"
    with_cookie = {"Authorization": authorization, "Cookie": f"session={cookie}"}
    assert clients.users.get("/users/me", headers=with_cookie).status_code == 200
    account = Account(registered.json()["id"], email, first["access_token"], first["refresh_token"])
    placed = clients.orders.post("/orders", json=ONE_BOOK, headers=with_cookie)
    assert placed.status_code == 202, placed.text
    assert clients.wait_until_final(account, placed.json()["id"])["status"] == "confirmed"
    refreshed = clients.users.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    after_refresh = {"Authorization": f"Bearer {second['access_token']}"}
    assert clients.orders.get("/orders", headers=after_refresh).status_code == 200
    assert clients.users.post("/auth/logout", headers=after_refresh).status_code == 200
    assert clients.users.get("/users/me", headers=after_refresh).status_code == 401
    assert clients.orders.get("/orders", headers=after_refresh).status_code == 401
    assert clients.users.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    tokens = [pair[kind] for pair in (first, second) for kind in ("access_token", "refresh_token")]
    return [password, cookie, authorization, *tokens]


@pytest.mark.slow
def test_no_secret_reaches_any_process_log_at_debug(admin_url: str, tmp_path: Path) -> None:
    password = f"Pw-{secrets.token_hex(8)}!"
    cookie = secrets.token_urlsafe(24)
    metrics_port = free_port()

    with (
        system_on(
            admin_url, tmp_path, {"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json"}, worker_metrics_port=metrics_port
        ) as system,
        Clients.for_system(system) as clients,
    ):
        handled = session_and_order_life(clients, password, cookie)
        worker_metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5.0).text
    outputs = {path.stem: path.read_text(encoding="utf-8") for path in sorted(tmp_path.glob("*.log"))}

    records = {name: json_lines(text) for name, text in outputs.items()}
    assert set(outputs) == {"migrations", "users", "orders", "worker"}
    for api in ("users", "orders"):
        loggers = {record["logger"] for record in records[api]}
        assert {"sqlalchemy.engine.Engine", "servicekit.requests", "uvicorn.error"} <= loggers, (api, loggers)
    assert "httpx" in {record["logger"] for record in records["orders"]}  # its calls to the users service
    for name in ("users", "orders", "worker"):
        assert any(record["level"] == "DEBUG" for record in records[name]), name
    assert ("POST", "/api/v1/auth/refresh", 200) in request_lines(records["users"])
    assert value(worker_metrics, "jobs_processed_total") == 1
    for secret in handled:
        leaks = [name for name, text in outputs.items() if secret in text]
        assert leaks == [], f"a secret of {len(secret)} characters is in the output of {leaks}"
