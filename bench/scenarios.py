"""The benchmark's HTTP scenarios: what each sends to the service and to the baseline.

Each scenario's requests vary across the seeded rows (users, posts, orders, accounts logged in
beforehand). The baseline gets the same rows by id, the caller named in ``X-User-Id``
(it has no tokens). Registration and login are bounded by password hashing: they are compared
with the hashing bound, not with a baseline.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bench.seed import PASSWORD, Account, SeedSize, email_of, orders_of
from bench.wrk import HttpRequest

API = "/api/v1"
#: Pages of 20 from the newest posts: the first 50 pages (deep OFFSETs measure PostgreSQL, not the service).
POST_PAGES = 50
SAMPLE = 5000

Reference = Literal["baseline", "hashing"]
JSON = (("Content-Type", "application/json"),)


@dataclass(frozen=True)
class Data:
    """What the scenarios draw from: the seeded sizes and the accounts logged in beforehand."""

    size: SeedSize
    accounts: list[Account]


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    #: "users" or "orders": the API it drives.
    api: str
    reference: Reference
    #: The ratio to reach on 1 worker (None: measured, no target).
    target: float | None
    #: ``(data, tag) -> (service requests, baseline requests)``; ``tag`` is unique per run, for new names.
    requests: Callable[[Data, str], tuple[list[HttpRequest], list[HttpRequest]]]
    connections: int | None = None
    #: Each run needs this many fresh refresh tokens per wrk connection (refresh token rotation).
    refresh_tokens: bool = False


def _bearer(account: Account) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {account.access_token}"),)


def _caller(user_id: int) -> tuple[tuple[str, str], ...]:
    return (("X-User-Id", str(user_id)),)


def _rng(tag: str) -> random.Random:
    return random.Random(tag)  # noqa: S311 - reproducible test data, not secrets


def get_user(data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    ids = _rng(tag).sample(range(1, data.size.users + 1), min(SAMPLE, data.size.users))
    return [HttpRequest("GET", f"{API}/users/{i}") for i in ids], [HttpRequest("GET", f"/users/{i}") for i in ids]


def get_me(data: Data, _tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    service = [HttpRequest("GET", f"{API}/users/me", _bearer(account)) for account in data.accounts]
    baseline = [HttpRequest("GET", "/users/me", _caller(account.user_id)) for account in data.accounts]
    return service, baseline


def list_posts(data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    pages = min(POST_PAGES, max(1, data.size.posts // 20))
    offsets = [20 * page for page in _rng(tag).sample(range(pages), pages)]
    service = [HttpRequest("GET", f"{API}/posts?limit=20&offset={offset}") for offset in offsets]
    return service, [HttpRequest("GET", f"/posts?offset={offset}") for offset in offsets]


_POST_WORDS = ("benchmark", "post", "about", "services", "and", "databases", "with", "realistic", "text")


def _post_body(rng: random.Random) -> str:
    title = " ".join(rng.choices(_POST_WORDS, k=6))
    return json.dumps({"title": title, "content": " ".join(rng.choices(_POST_WORDS, k=60)), "published": True})


def _writes(
    data: Data, tag: str, path: str, body: Callable[[random.Random], str]
) -> tuple[list[HttpRequest], list[HttpRequest]]:
    """One write per logged-in account: as the account (Bearer) to the service, by id to the baseline."""
    rng = _rng(tag)
    bodies = [body(rng) for _ in data.accounts]
    pairs = list(zip(data.accounts, bodies, strict=True))
    service = [HttpRequest("POST", f"{API}{path}", JSON + _bearer(account), text) for account, text in pairs]
    baseline = [HttpRequest("POST", path, JSON + _caller(account.user_id), text) for account, text in pairs]
    return service, baseline


def create_post(data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    return _writes(data, tag, "/posts", _post_body)


def register(_data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    unique = tag + "-{{N}}"  # the Lua script puts a number unique to each request in place of {{N}}
    body = json.dumps({"email": f"new{unique}@bench.example.com", "username": f"n{unique}", "password": PASSWORD})
    return [HttpRequest("POST", f"{API}/users", JSON, body)], []


def login(data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    ids = _rng(tag).sample(range(1, data.size.users + 1), min(SAMPLE, data.size.users))
    bodies = [json.dumps({"email": email_of(i), "password": PASSWORD}) for i in ids]
    return [HttpRequest("POST", f"{API}/auth/login", JSON, body) for body in bodies], []


def refresh(data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    service = [HttpRequest("POST", f"{API}/auth/refresh", JSON, '{"refresh_token": "{{TOKEN}}"}')]
    return service, create_post(data, tag)[1]


def _order_body(rng: random.Random) -> str:
    items = [
        {"sku": f"SKU-{rng.randint(1, 999)}", "quantity": rng.randint(1, 5), "unit_price": f"{rng.randint(1, 99)}.99"}
        for _ in range(rng.randint(1, 3))
    ]
    return json.dumps({"items": items})


def create_order(data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    return _writes(data, tag, "/orders", _order_body)


def get_order(data: Data, tag: str) -> tuple[list[HttpRequest], list[HttpRequest]]:
    pairs = [(account, order) for account in data.accounts for order in orders_of(account.user_id, data.size)]
    _rng(tag).shuffle(pairs)
    service = [HttpRequest("GET", f"{API}/orders/{order}", _bearer(account)) for account, order in pairs]
    baseline = [HttpRequest("GET", f"/orders/{order}", _caller(account.user_id)) for account, order in pairs]
    return service, baseline


SCENARIOS = (
    Scenario("get_user", "GET /users/{id}", "users", "baseline", 0.5, get_user),
    Scenario("get_me", "GET /users/me", "users", "baseline", 0.4, get_me),
    Scenario("list_posts", "GET /posts (page of 20)", "users", "baseline", 0.3, list_posts),
    Scenario("create_post", "POST /posts", "users", "baseline", 0.3, create_post),
    Scenario("register", "POST /users (registration)", "users", "hashing", 0.8, register, connections=8),
    Scenario("login", "POST /auth/login", "users", "hashing", 0.8, login, connections=8),
    Scenario("refresh", "POST /auth/refresh", "users", "baseline", None, refresh, refresh_tokens=True),
    Scenario("create_order", "POST /orders", "orders", "baseline", 0.25, create_order),
    Scenario("get_order", "GET /orders/{id}", "orders", "baseline", 0.25, get_order),
)
