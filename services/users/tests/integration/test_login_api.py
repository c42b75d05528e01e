"""Login over HTTP: credentials, enumeration resistance, and throttling (in process and on Redis)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient, Response
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.config import get_settings
from app.main import app, create_app
from app.models.user import User
from app.utils.password import hash_password
from app.utils.throttle import ThrottleRule
from servicekit.testing.app_client import app_client
from tests.conftest import PASSWORD
from tests.factories import UserFactory, unique_email
from tests.support.auth import (
    ACCOUNT_LIMIT,
    CLIENT_LIMIT,
    LOGIN,
    assert_throttled,
    login,
    me_status,
    unverified,
    without_request_id,
)
from tests.support.configured import environment
from tests.support.redis_keys import SavedKeys


@pytest.fixture
def low_limits() -> Iterator[None]:
    """Throttle limits low enough to reach quickly; restored (and the settings reloaded) afterwards."""
    with environment(
        LOGIN_MAX_FAILURES_PER_ACCOUNT=str(ACCOUNT_LIMIT), LOGIN_MAX_FAILURES_PER_CLIENT=str(CLIENT_LIMIT)
    ):
        yield


@pytest.fixture
def limited_client(low_limits: None, client: AsyncClient) -> AsyncClient:
    """``client`` whose app started with the low limits (``low_limits`` is set up first)."""
    return client


def app_instance(db_connection: AsyncConnection | None, client_host: str) -> AbstractAsyncContextManager[AsyncClient]:
    """A separate instance of the service (its own app, lifespan and throttle store).

    Like the ``client`` fixture, its requests run inside the test's transaction (or, without a
    connection, commit for real like ``live_client``); requests come from ``client_host``.
    """
    return app_client(create_app(), db_connection, client_host)


async def counter_value(redis: Redis, key: str) -> int:
    raw = await redis.get(key)
    assert raw is not None, f"{key} is not in Redis"
    return int(raw)


async def concurrent_wrong_passwords(client: AsyncClient, email: str, count: int) -> Counter[int]:
    """``count`` wrong-password logins for ``email``, all in flight at once; their status codes."""
    responses: list[Response] = await asyncio.gather(
        *(login(client, email, "Wrong-password-123") for _ in range(count))
    )
    for response in responses:
        if response.status_code == 429:
            assert_throttled(response)
    return Counter(response.status_code for response in responses)


def unique_client_host() -> str:
    """A client address no other test uses, so Redis counters of other tests never interfere."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"


def account_key(email: str) -> str:
    return ThrottleRule("account", ACCOUNT_LIMIT, 1).key(email.lower())


def client_key(host: str) -> str:
    return ThrottleRule("client", CLIENT_LIMIT, 1).key(host)


@pytest.mark.integration
class TestLogin:
    async def test_returns_a_bearer_token_pair(self, client: AsyncClient, user: User) -> None:
        response = await login(client, user.email)

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == get_settings().access_token_ttl_seconds
        assert body["access_token"] != body["refresh_token"]
        assert response.headers["Cache-Control"] == "no-store"
        assert await me_status(client, body["access_token"]) == 200

    async def test_unknown_email_and_wrong_password_get_the_same_401(self, client: AsyncClient, user: User) -> None:
        unknown = await login(client, unique_email())
        wrong_password = await login(client, user.email, "Wrong-password-123")

        assert unknown.status_code == wrong_password.status_code == 401
        assert without_request_id(unknown) == without_request_id(wrong_password)
        assert without_request_id(unknown)["code"] == "invalid_credentials"
        assert unknown.headers["WWW-Authenticate"] == wrong_password.headers["WWW-Authenticate"] == "Bearer"

    async def test_email_is_matched_regardless_of_letter_case(self, client: AsyncClient, user: User) -> None:
        response = await login(client, user.email.upper())

        assert response.status_code == 200
        assert unverified(response.json()["access_token"])["sub"] == str(user.id)

    @pytest.mark.parametrize(
        "password",
        [PASSWORD + " ", " " + PASSWORD, PASSWORD.lower(), PASSWORD.upper(), PASSWORD[:-1]],
        ids=["trailing-space", "leading-space", "lower-case", "upper-case", "truncated"],
    )
    async def test_password_is_verified_exactly_as_given(self, client: AsyncClient, user: User, password: str) -> None:
        response = await login(client, user.email, password)

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"

    async def test_deactivated_user_cannot_log_in(self, client: AsyncClient, db_session: AsyncSession) -> None:
        inactive = await UserFactory.create(db_session, hashed_password=hash_password(PASSWORD), is_active=False)
        wrong_password = await login(client, unique_email(), PASSWORD)

        response = await login(client, inactive.email)

        assert response.status_code == 401
        assert without_request_id(response) == without_request_id(wrong_password)

    @pytest.mark.parametrize(
        "stored_hash",
        ["garbage", "", "$argon2id$v=19$m=19456,t=2,p=1$c2Fsd\u00e9HNhbHQ$aGFzaGhhc2g"],
        ids=["not-a-hash", "empty", "argon2-non-ascii"],
    )
    async def test_a_malformed_stored_hash_is_a_failed_login_not_a_500(
        self, client: AsyncClient, db_session: AsyncSession, stored_hash: str
    ) -> None:
        damaged = await UserFactory.create(db_session, hashed_password=stored_hash)
        wrong_password = await login(client, unique_email(), PASSWORD)

        response = await login(client, damaged.email, PASSWORD)

        assert response.status_code == 401, response.text
        assert without_request_id(response) == without_request_id(wrong_password)
        assert without_request_id(response)["code"] == "invalid_credentials"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"email": "someone@example.com"},
            {"password": PASSWORD},
            {"email": "not-an-email", "password": PASSWORD},
            {"email": "someone@example.com", "password": ""},
            {"email": "someone@example.com", "password": "x" * 129},
            {"email": "someone@example.com", "password": PASSWORD, "is_admin": True},
            {"email": ["someone@example.com"], "password": PASSWORD},
            [],
        ],
        ids=[
            "empty",
            "no-password",
            "no-email",
            "bad-email",
            "empty-password",
            "long-password",
            "extra",
            "list",
            "array",
        ],
    )
    async def test_malformed_input_is_422(self, client: AsyncClient, body: Any) -> None:
        response = await client.post(LOGIN, json=body)

        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [(b"{not json", "application/json"), (b"", "application/json"), (b"email=a@b.c&password=x", "text/plain")],
        ids=["broken-json", "empty-body", "not-json"],
    )
    async def test_non_json_body_is_422(self, client: AsyncClient, content: bytes, content_type: str) -> None:
        response = await client.post(LOGIN, content=content, headers={"Content-Type": content_type})

        assert response.status_code == 422

    async def test_validation_errors_never_echo_the_password(self, client: AsyncClient) -> None:
        secret = "Sup3r-secret-" + "x" * 120

        response = await client.post(LOGIN, json={"email": "someone@example.com", "password": secret})

        assert response.status_code == 422
        assert "Sup3r-secret" not in response.text


@pytest.mark.integration
class TestLoginThrottling:
    async def test_account_is_locked_after_repeated_failures(
        self, limited_client: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        for attempt in range(ACCOUNT_LIMIT):
            email = user.email.upper() if attempt % 2 else user.email
            assert (await login(limited_client, email, "Wrong-password-123")).status_code == 401

        response = await login(limited_client, user.email)

        assert_throttled(response)
        other = await UserFactory.create(db_session, hashed_password=hash_password(PASSWORD))
        assert (await login(limited_client, other.email)).status_code == 200

    async def test_below_the_limit_the_right_password_still_works(
        self, limited_client: AsyncClient, user: User
    ) -> None:
        for _ in range(ACCOUNT_LIMIT - 1):
            await login(limited_client, user.email, "Wrong-password-123")

        assert (await login(limited_client, user.email)).status_code == 200

    async def test_client_is_locked_after_failures_across_accounts(
        self, limited_client: AsyncClient, user: User
    ) -> None:
        for _ in range(CLIENT_LIMIT):
            assert (await login(limited_client, unique_email(), "Wrong-password-123")).status_code == 401

        response = await login(limited_client, user.email)

        assert_throttled(response)

    async def test_success_resets_the_account_counter(self, limited_client: AsyncClient, user: User) -> None:
        for _ in range(ACCOUNT_LIMIT - 1):
            await login(limited_client, user.email, "Wrong-password-123")
        assert (await login(limited_client, user.email)).status_code == 200
        for _ in range(ACCOUNT_LIMIT - 1):
            await login(limited_client, user.email, "Wrong-password-123")

        response = await login(limited_client, user.email)

        assert response.status_code == 200

    async def test_separate_instances_without_redis_do_not_share_counters(
        self, low_limits: None, db_connection: AsyncConnection, user: User
    ) -> None:
        """The control for the Redis tests: in-process counters are per instance."""
        assert "REDIS_URL" not in os.environ
        host = unique_client_host()
        async with app_instance(db_connection, host) as first, app_instance(db_connection, host) as second:
            for _ in range(ACCOUNT_LIMIT):
                await login(first, user.email, "Wrong-password-123")
            assert_throttled(await login(first, user.email))

            response = await login(second, user.email)

        assert response.status_code == 200

    async def test_concurrent_wrong_passwords_cannot_exceed_the_account_limit(
        self, low_limits: None, live_client: AsyncClient, live_user: User
    ) -> None:
        """Every attempt is counted before its password is checked, so a burst cannot slip past.

        ``live_client``: the requests really run at once, password checks included.
        """
        user = live_user
        statuses = await concurrent_wrong_passwords(live_client, user.email, 20)

        right_password = await login(live_client, user.email)

        # In process the count is exact: the first ACCOUNT_LIMIT attempts get through, no more.
        assert statuses == Counter({401: ACCOUNT_LIMIT, 429: 20 - ACCOUNT_LIMIT})
        assert_throttled(right_password)
        # The account itself is locked, not only this (over-limit) client: same instance, another address.
        transport = ASGITransport(app=app, client=(unique_client_host(), 40_000))
        async with AsyncClient(transport=transport, base_url="http://test") as elsewhere:
            assert_throttled(await login(elsewhere, user.email))


@pytest.mark.integration
class TestLoginThrottlingWithRedis:
    """Every test saves the keys it counts on (``saved_keys``): a failing test leaves no counter behind."""

    async def test_account_counter_is_shared_by_instances(
        self, low_limits: None, redis: Redis, saved_keys: SavedKeys, db_connection: AsyncConnection, user: User
    ) -> None:
        hosts = unique_client_host(), unique_client_host()
        await saved_keys.save(account_key(user.email), *map(client_key, hosts))
        async with app_instance(db_connection, hosts[0]) as first, app_instance(db_connection, hosts[1]) as second:
            for _ in range(ACCOUNT_LIMIT):
                assert (await login(first, user.email, "Wrong-password-123")).status_code == 401

            response = await login(second, user.email)

        assert_throttled(response)
        key = account_key(user.email)
        assert await counter_value(redis, key) == ACCOUNT_LIMIT + 1  # the refused attempt counts too
        ttl_ms = await redis.pttl(key)
        assert 0 < ttl_ms <= get_settings().login_failure_window_seconds * 1000
        assert int(response.headers["Retry-After"]) * 1000 >= ttl_ms

    async def test_client_counter_is_shared_by_instances(
        self, low_limits: None, redis: Redis, saved_keys: SavedKeys, db_connection: AsyncConnection, user: User
    ) -> None:
        host = unique_client_host()
        emails = [unique_email() for _ in range(CLIENT_LIMIT)]
        await saved_keys.save(client_key(host), account_key(user.email), *map(account_key, emails))
        async with app_instance(db_connection, host) as first, app_instance(db_connection, host) as second:
            for attempt, email in enumerate(emails):
                instance = first if attempt % 2 else second
                assert (await login(instance, email, "Wrong-password-123")).status_code == 401

            response = await login(first, user.email)

        assert_throttled(response)
        assert await counter_value(redis, client_key(host)) == CLIENT_LIMIT + 1  # the refused attempt counts too

    async def test_success_on_one_instance_resets_the_account_for_all(
        self, low_limits: None, redis: Redis, saved_keys: SavedKeys, db_connection: AsyncConnection, user: User
    ) -> None:
        key = account_key(user.email)
        hosts = unique_client_host(), unique_client_host()
        await saved_keys.save(key, *map(client_key, hosts))
        async with app_instance(db_connection, hosts[0]) as first, app_instance(db_connection, hosts[1]) as second:
            for _ in range(ACCOUNT_LIMIT - 1):
                await login(first, user.email, "Wrong-password-123")
            assert await counter_value(redis, key) == ACCOUNT_LIMIT - 1
            assert (await login(second, user.email)).status_code == 200
            assert await redis.exists(key) == 0
            for _ in range(ACCOUNT_LIMIT - 1):
                await login(first, user.email, "Wrong-password-123")

            response = await login(second, user.email)

        assert response.status_code == 200

    async def test_use_redis_with_the_client_fixture(
        self, low_limits: None, redis: Redis, saved_keys: SavedKeys, client: AsyncClient, user: User
    ) -> None:
        """The ``client`` fixture's app also keeps its counters in Redis when ``REDIS_URL`` is set.

        ``redis`` (hence ``use_redis``) comes before ``client``: the app reads ``REDIS_URL`` as it starts.
        """
        shared_client_key = client_key("127.0.0.1")  # the address of every ``client`` request
        await saved_keys.save(account_key(user.email), shared_client_key)
        # Other tests of this worker count failures from the same address: start this one from none
        # (saved_keys puts their count back afterwards), or the low limit may already be reached.
        await redis.delete(shared_client_key)

        response = await login(client, user.email, "Wrong-password-123")

        assert response.status_code == 401
        assert await counter_value(redis, account_key(user.email)) == 1
        assert await counter_value(redis, shared_client_key) == 1

    async def test_concurrent_wrong_passwords_cannot_exceed_the_account_limit(
        self, low_limits: None, redis: Redis, saved_keys: SavedKeys, live_user: User
    ) -> None:
        """Two instances with real sessions (no shared test transaction): the burst really races."""
        user = live_user
        key = account_key(user.email)
        hosts = unique_client_host(), unique_client_host()
        await saved_keys.save(key, *map(client_key, hosts))
        async with app_instance(None, hosts[0]) as first, app_instance(None, hosts[1]) as second:
            statuses = await concurrent_wrong_passwords(first, user.email, 20)

            right_password = await login(second, user.email)

        assert statuses[401] <= ACCOUNT_LIMIT
        assert statuses == Counter({401: statuses[401], 429: 20 - statuses[401]})
        assert_throttled(right_password)  # from a fresh address: the account is locked, not just the client
        assert await counter_value(redis, key) == 20 + 1


@pytest.mark.integration
async def test_saved_keys_are_put_back_as_they_were(redis: Redis) -> None:
    """The control for ``saved_keys``: a key that existed gets its value and TTL back, a new one goes."""
    existing, new = f"saved-keys-test:{uuid.uuid4()}", f"saved-keys-test:{uuid.uuid4()}"
    await redis.set(existing, 7, ex=600)
    try:
        saved = SavedKeys(redis)
        await saved.save(existing, new)
        await redis.incr(existing)
        await redis.persist(existing)
        await redis.set(new, 1)

        await saved.restore()

        assert (await redis.get(existing), await redis.exists(new)) == (b"7", 0)
        assert 0 < await redis.pttl(existing) <= 600_000
    finally:
        await redis.delete(existing, new)
