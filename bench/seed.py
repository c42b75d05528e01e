"""Realistic data, written fast: COPY (asyncpg ``copy_records_to_table``), not the API.

Every seeded account has the same password and shares one argon2id hash of it, made with the
service's own parameters (hashing 10,000 passwords would take minutes and measure nothing).
Ids are given explicitly, so the benchmark knows who owns what; the sequences are moved past them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from pgqueuer.queries import Queries

from devtools import embedded_pg

PASSWORD = "Bench-Secure-Pass-2026!"  # noqa: S105 - the seeded accounts' password, public on purpose
#: ``app.jobs.PROCESS_ORDER`` of the orders service: the job type the worker takes.
PROCESS_ORDER = "process_order"
_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "service",
    "query",
    "index",
    "commit",
    "latency",
    "throughput",
    "request",
    "response",
    "python",
    "postgres",
    "worker",
    "order",
    "post",
    "user",
    "token",
]


@dataclass(frozen=True)
class SeedSize:
    users: int
    posts: int
    orders: int


@dataclass(frozen=True)
class Account:
    user_id: int
    access_token: str
    refresh_token: str


def email_of(user_id: int) -> str:
    return f"user{user_id}@bench.example.com"


def orders_of(user_id: int, size: SeedSize) -> list[int]:
    """The seeded orders of a user: order ``k`` (from 1) belongs to user ``(k - 1) % users + 1``."""
    return list(range(user_id, size.orders + 1, size.users))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


async def _copy(connection: Any, table: str, columns: list[str], records: Sequence[tuple[object, ...]]) -> None:
    await connection.copy_records_to_table(table, columns=columns, records=records)


async def seed_users(url: str, size: SeedSize, password_hash: str) -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible test data, not secrets
    connection = await embedded_pg.connect(url)
    try:
        users = [(i, email_of(i), f"user{i}", password_hash, True, True) for i in range(1, size.users + 1)]
        await _copy(
            connection, "users", ["id", "email", "username", "hashed_password", "is_active", "is_verified"], users
        )
        posts = [
            (i, _text(rng, 6), _text(rng, rng.randint(30, 120)), rng.randint(1, size.users), rng.random() < 0.9)  # noqa: PLR2004 - 90% published
            for i in range(1, size.posts + 1)
        ]
        await _copy(connection, "posts", ["id", "title", "content", "user_id", "published"], posts)
        for table in ("users", "posts"):
            statement = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608 - our table names
            await connection.execute(statement)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def _insert_orders(connection: Any, first_id: int, user_ids: list[int], status: str) -> list[int]:
    rng = random.Random(first_id)  # noqa: S311 - reproducible test data, not secrets
    ids = list(range(first_id, first_id + len(user_ids)))
    items = [
        (order_id, position, f"SKU-{rng.randint(1, 999)}", rng.randint(1, 5), Decimal(rng.randint(100, 9999)) / 100)
        for order_id in ids
        for position in range(rng.randint(1, 3))
    ]
    totals: dict[int, Decimal] = {}
    for order_id, _, _, quantity, price in items:
        totals[order_id] = totals.get(order_id, Decimal(0)) + quantity * price
    orders = [
        (order_id, user, status, totals[order_id], "0" * 64) for order_id, user in zip(ids, user_ids, strict=True)
    ]
    await _copy(connection, "orders", ["id", "user_id", "status", "total", "request_fingerprint"], orders)
    await _copy(connection, "order_items", ["order_id", "position", "sku", "quantity", "unit_price"], items)
    history = [(order_id, "pending") for order_id in ids]
    if status != "pending":
        history += [(order_id, status) for order_id in ids]
    await _copy(connection, "order_status_history", ["order_id", "status"], history)
    await connection.execute("SELECT setval(pg_get_serial_sequence('orders', 'id'), max(id)) FROM orders")
    return ids


async def seed_orders(url: str, size: SeedSize) -> None:
    connection = await embedded_pg.connect(url)
    try:
        owners = [(k - 1) % size.users + 1 for k in range(1, size.orders + 1)]
        await _insert_orders(connection, 1, owners, "confirmed")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def seed_backlog(url: str, count: int, users: int) -> int:
    """``count`` pending orders of existing users, each with its processing job, in one commit;
    the first one's id (the others follow it)."""
    connection = await embedded_pg.connect(url)
    try:
        async with connection.transaction():
            first_id = await connection.fetchval("SELECT coalesce(max(id), 0) + 1 FROM orders")
            ids = await _insert_orders(connection, first_id, [k % users + 1 for k in range(count)], "pending")
            await Queries.from_asyncpg_connection(connection).enqueue(
                [PROCESS_ORDER] * count, [str(order_id).encode() for order_id in ids], [0] * count
            )
        return int(first_id)
    finally:
        await connection.close()


async def pending_orders(url: str, first_id: int) -> int:
    """How many orders from ``first_id`` on are still pending."""
    connection = await embedded_pg.connect(url)
    try:
        return int(
            await connection.fetchval("SELECT count(*) FROM orders WHERE id >= $1 AND status = 'pending'", first_id)
        )
    finally:
        await connection.close()


async def clear_queue(url: str) -> None:
    """Drop every queued job (orders placed by the HTTP scenarios stay pending, unprocessed)."""
    connection = await embedded_pg.connect(url)
    try:
        await Queries.from_asyncpg_connection(connection).clear_queue()
    finally:
        await connection.close()


async def log_in(users_url: str, user_ids: list[int], concurrency: int = 4) -> list[Account]:
    """Log each user in through the API (the tokens are real, their sessions in the database)."""
    limit = asyncio.Semaphore(concurrency)

    async def one(http: httpx.AsyncClient, user_id: int) -> Account:
        async with limit:
            response = await http.post("/api/v1/auth/login", json={"email": email_of(user_id), "password": PASSWORD})
        response.raise_for_status()
        body = response.json()
        return Account(user_id, body["access_token"], body["refresh_token"])

    async with httpx.AsyncClient(base_url=users_url, timeout=60.0) as http:
        return list(await asyncio.gather(*(one(http, user_id) for user_id in user_ids)))
