"""The framework-free baseline: a plain ASGI callable on asyncpg pools (no FastAPI, no Starlette).

It serves the same rows as the services' read scenarios and does one INSERT for their write
scenarios, with nothing else: no validation beyond what the SQL needs, no middleware, no auth
(the caller's user id comes in an ``X-User-Id`` header). What a Python service on this stack
can reach at most; the benchmark reports each service path as a ratio of it.

    USERS_DATABASE_URL=... ORDERS_DATABASE_URL=... python -m servicekit.server bench.baseline:app
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from servicekit.database import driver_dsn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[Scope, list[str], Receive], Awaitable[tuple[int, bytes]]]

POOL_SIZE = int(os.environ.get("BASELINE_POOL_SIZE", "20"))

_USER = "SELECT id, email, username, created_at FROM users WHERE id = $1 AND is_active"
_ME = (
    "SELECT id, email, username, created_at, is_active, is_verified, updated_at FROM users WHERE id = $1 AND is_active"
)
_POSTS = (
    "SELECT id, title, content, user_id, published, created_at, updated_at FROM posts"
    " WHERE published ORDER BY id DESC LIMIT 20 OFFSET $1"
)
_NEW_POST = (
    "INSERT INTO posts (title, content, user_id, published) VALUES ($1, $2, $3, $4)"
    " RETURNING id, title, content, user_id, published, created_at, updated_at"
)
_ORDER = """
SELECT o.id, o.user_id, o.status, o.total::text AS total, o.created_at, o.updated_at,
  (SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unit_price', i.unit_price::text)
                   ORDER BY i.position)::text FROM order_items i WHERE i.order_id = o.id) AS items,
  (SELECT json_agg(json_build_object('status', h.status, 'at', h.at AT TIME ZONE 'UTC', 'reason', h.reason)
                   ORDER BY h.id)::text FROM order_status_history h WHERE h.order_id = o.id) AS history
FROM orders o WHERE o.id = $1 AND o.user_id = $2
"""
_NEW_ORDER = (
    "INSERT INTO orders (user_id, total, request_fingerprint) VALUES ($1, $2::numeric, $3)"
    " RETURNING id, user_id, status, total::text AS total, created_at, updated_at"
)


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _encode(body: object) -> bytes:
    return json.dumps(body, default=_default, separators=(",", ":")).encode()


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _user_id(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"x-user-id":
            return int(value)
    return 0


def _offset(scope: Scope) -> int:
    for pair in scope["query_string"].split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"offset":
            return int(value)
    return 0


class Baseline:
    def __init__(self) -> None:
        self.users: asyncpg.Pool | None = None
        self.orders: asyncpg.Pool | None = None
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", "api/v1/health/ready"): self._ready,  # what devtools.system waits for
            ("GET", "users/me"): self._me,
            ("GET", "users/{id}"): self._user,
            ("GET", "posts"): self._posts,
            ("POST", "posts"): self._new_post,
            ("GET", "orders/{id}"): self._order,
            ("POST", "orders"): self._new_order,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, body = await self._route(scope, receive)
            await _respond(send, status, body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.users = await _pool("USERS_DATABASE_URL")
                self.orders = await _pool("ORDERS_DATABASE_URL")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for pool in (self.users, self.orders):
                    if pool is not None:
                        await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        parts = scope["path"].strip("/").split("/")
        shape = "/".join("{id}" if part.isdigit() else part for part in parts)
        handler = self._routes.get((scope["method"], shape))
        if handler is None:
            return 404, b"{}"
        return await handler(scope, parts, receive)

    async def _ready(self, _scope: Scope, _parts: list[str], _receive: Receive) -> tuple[int, bytes]:
        return 200, b'{"status":"ready"}'

    async def _me(self, scope: Scope, _parts: list[str], _receive: Receive) -> tuple[int, bytes]:
        return _one(await self._pools()[0].fetchrow(_ME, _user_id(scope)))

    async def _user(self, _scope: Scope, parts: list[str], _receive: Receive) -> tuple[int, bytes]:
        return _one(await self._pools()[0].fetchrow(_USER, int(parts[1])))

    async def _posts(self, scope: Scope, _parts: list[str], _receive: Receive) -> tuple[int, bytes]:
        rows = await self._pools()[0].fetch(_POSTS, _offset(scope))
        return 200, _encode({"items": [dict(row) for row in rows]})

    async def _new_post(self, scope: Scope, _parts: list[str], receive: Receive) -> tuple[int, bytes]:
        data = json.loads(await _read_body(receive))
        row = await self._pools()[0].fetchrow(
            _NEW_POST, data["title"], data["content"], _user_id(scope), data.get("published", False)
        )
        return 201, _encode(dict(row))

    async def _order(self, scope: Scope, parts: list[str], _receive: Receive) -> tuple[int, bytes]:
        row = await self._pools()[1].fetchrow(_ORDER, int(parts[1]), _user_id(scope))
        if row is None:
            return 404, b"{}"
        order = {**dict(row), "items": json.loads(row["items"]), "status_history": json.loads(row["history"])}
        del order["history"]
        return 200, _encode(order)

    async def _new_order(self, scope: Scope, _parts: list[str], receive: Receive) -> tuple[int, bytes]:
        data = json.loads(await _read_body(receive))
        total = sum(Decimal(item["unit_price"]) * item["quantity"] for item in data["items"])
        row = await self._pools()[1].fetchrow(_NEW_ORDER, _user_id(scope), f"{total:.2f}", "0" * 64)
        return 202, _encode(dict(row))

    def _pools(self) -> tuple[asyncpg.Pool, asyncpg.Pool]:
        """The users database's pool and the orders database's (made at startup, before any request)."""
        if self.users is None or self.orders is None:
            msg = "the pools are made in the lifespan's startup"
            raise RuntimeError(msg)
        return self.users, self.orders


def _one(row: asyncpg.Record | None) -> tuple[int, bytes]:
    return (200, _encode(dict(row))) if row is not None else (404, b"{}")


async def _pool(variable: str) -> asyncpg.Pool:
    return await asyncpg.create_pool(driver_dsn(os.environ[variable]), min_size=POOL_SIZE, max_size=POOL_SIZE)


app = Baseline()
