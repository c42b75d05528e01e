"""What the end-to-end tests do over HTTP: accounts, orders, and waiting for a condition."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from devtools import embedded_pg
from devtools.system import System

API = "/api/v1"
PASSWORD = "E2e-Secure-Pass-123!"
FINAL_STATUSES = frozenset({"confirmed", "rejected", "cancelled"})
POLL_INTERVAL_SECONDS = 0.1
T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], *, within: float, what: str) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            msg = f"not within {within}s: {what}"
            raise AssertionError(msg)
        time.sleep(POLL_INTERVAL_SECONDS)


@dataclass
class Account:
    id: int
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Clients:
    users: httpx.Client
    orders: httpx.Client

    @classmethod
    @contextmanager
    def for_system(cls, system: System) -> Iterator[Clients]:
        with (
            httpx.Client(base_url=system.users.base_url + API, timeout=15.0) as users,
            httpx.Client(base_url=system.orders.base_url + API, timeout=15.0) as orders,
        ):
            yield cls(users, orders)

    def register_and_login(self) -> Account:
        email = f"e2e.{uuid.uuid4().hex[:16]}@example.com"
        body = {"email": email, "username": f"e2e_{uuid.uuid4().hex[:16]}", "password": PASSWORD}
        registered = self.users.post("/users", json=body)
        assert registered.status_code == 201, registered.text
        login = self.users.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        tokens = login.json()
        return Account(registered.json()["id"], email, tokens["access_token"], tokens["refresh_token"])

    def place_order(self, account: Account, *, sku: str = "BOOK-1", quantity: int = 2) -> dict[str, Any]:
        body = {"items": [{"sku": sku, "quantity": quantity, "unit_price": "9.99"}]}
        response = self.orders.post("/orders", json=body, headers=account.headers)
        assert response.status_code == 202, response.text
        order: dict[str, Any] = response.json()
        return order

    def order(self, account: Account, order_id: int) -> dict[str, Any]:
        response = self.orders.get(f"/orders/{order_id}", headers=account.headers)
        assert response.status_code == 200, response.text
        order: dict[str, Any] = response.json()
        return order

    def wait_until_final(self, account: Account, order_id: int, *, within: float = 30.0) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            order = self.order(account, order_id)
            return order if order["status"] in FINAL_STATUSES else None

        return wait_for(final, within=within, what=f"order {order_id} reaches a final status")


def final_entries(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of ``status_history`` that end the order."""
    return [entry for entry in order["status_history"] if entry["status"] in FINAL_STATUSES]


def query(database_url: str, sql: str, *args: object) -> list[Any]:
    """Rows of one statement on a service's database (arrangement and inspection only)."""

    async def run() -> list[Any]:
        connection = await embedded_pg.connect(database_url)
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    return asyncio.run(run())
