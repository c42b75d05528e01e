"""The account flows' rate limits live in Redis when ``REDIS_URL`` is set: every instance of the
service counts against the same limit."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection

from app.main import create_app
from app.models.user import User
from app.utils.throttle import ThrottleRule
from servicekit.testing.app_client import app_client
from tests.support.account import REQUEST_VERIFICATION, assert_rate_limited
from tests.support.auth import REFRESH, login_pair, unverified
from tests.support.configured import environment
from tests.support.redis_keys import SavedKeys

LIMIT = 2


def limit_key(limit: str, subject: str) -> str:
    return ThrottleRule(limit, LIMIT, 1, namespace="rate-limit").key(subject)


@pytest.mark.integration
async def test_verification_requests_count_on_every_instance(
    redis: Redis, saved_keys: SavedKeys, db_connection: AsyncConnection, user: User, auth_headers: dict[str, str]
) -> None:
    key = limit_key("verification-account", str(user.id))
    await saved_keys.save(key)
    with environment(VERIFICATION_EMAILS_PER_ACCOUNT=str(LIMIT)):
        async with app_client(create_app(), db_connection) as first, app_client(create_app(), db_connection) as second:
            accepted = [await instance.post(REQUEST_VERIFICATION, headers=auth_headers) for instance in (first, second)]
            refused = await first.post(REQUEST_VERIFICATION, headers=auth_headers)

    assert [response.status_code for response in accepted] == [202, 202]
    assert_rate_limited(refused)
    assert int(await redis.get(key) or 0) == LIMIT + 1
    assert 0 < await redis.pttl(key) <= 3600 * 1000


@pytest.mark.integration
async def test_refreshes_of_a_family_count_on_every_instance(
    redis: Redis, saved_keys: SavedKeys, db_connection: AsyncConnection, user: User
) -> None:
    with environment(REFRESHES_PER_FAMILY=str(LIMIT)):
        async with app_client(create_app(), db_connection) as first, app_client(create_app(), db_connection) as second:
            pair = await login_pair(first, user.email)
            await saved_keys.save(limit_key("refresh-family", unverified(pair["access_token"])["sid"]))
            for instance in (first, second):
                rotated = await instance.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
                assert rotated.status_code == 200
                pair = rotated.json()

            refused = await first.post(REFRESH, json={"refresh_token": pair["refresh_token"]})

    assert_rate_limited(refused)
