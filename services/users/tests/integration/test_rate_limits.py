"""The rate limits of registration (per client) and refresh (per token family) over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.main import create_app
from app.models.user import User
from servicekit.testing.app_client import app_client
from tests.support.account import assert_rate_limited
from tests.support.auth import REFRESH, login_pair
from tests.support.configured import environment, registration
from tests.support.smtp import RecordingHandler

USERS = "/api/v1/users"


@pytest.fixture
async def two_a_window(db_connection: AsyncConnection, smtp_server: RecordingHandler) -> AsyncIterator[None]:
    with environment(REGISTRATIONS_PER_CLIENT="2", REFRESHES_PER_FAMILY="2"):
        yield


@pytest.mark.integration
class TestRegistrationPerClient:
    async def test_past_the_limit_a_client_is_refused_and_others_are_not(
        self, two_a_window: None, db_connection: AsyncConnection
    ) -> None:
        application = create_app()
        async with app_client(application, db_connection, "198.51.100.7") as client:
            accepted = [await client.post(USERS, json=registration()) for _ in range(2)]
            refused = await client.post(USERS, json=registration())
        async with app_client(application, db_connection, "198.51.100.8") as elsewhere:
            other_client = await elsewhere.post(USERS, json=registration())

        assert [response.status_code for response in accepted] == [201, 201]
        assert_rate_limited(refused)
        assert other_client.status_code == 201

    async def test_refused_registrations_count_too(self, two_a_window: None, db_connection: AsyncConnection) -> None:
        account = registration()
        async with app_client(create_app(), db_connection) as client:
            statuses = [(await client.post(USERS, json=account)).status_code for _ in range(2)]

            assert_rate_limited(await client.post(USERS, json=registration()))

        assert statuses == [201, 409]


@pytest.mark.integration
class TestRefreshPerFamily:
    async def test_past_the_limit_the_family_waits_and_its_token_stays_usable(
        self, two_a_window: None, db_connection: AsyncConnection, user: User
    ) -> None:
        async with app_client(create_app(), db_connection) as client:
            pair = await login_pair(client, user.email)
            for _ in range(2):
                rotated = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
                assert rotated.status_code == 200
                pair = rotated.json()
            refused = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
            refused_again = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
            another_session = await login_pair(client, user.email)
            other_family = await client.post(REFRESH, json={"refresh_token": another_session["refresh_token"]})

        assert_rate_limited(refused)
        assert_rate_limited(refused_again)  # not 401: the refused token was not used up, nor taken as reused
        assert other_family.status_code == 200
