"""Password resets racing on PostgreSQL: the same link used twice at once, and a reset racing a
login. Each commits for real (``live_client``, ``live_user``); a second connection holds a lock so
that the interleaving under test is forced, then lets go (no sleeps, a deadline on every wait).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.models.account_token import TokenPurpose
from app.models.user import User
from tests.conftest import PASSWORD
from tests.support.account import NEW_PASSWORD, RESET_PASSWORD, issue_token
from tests.support.auth import REFRESH, login, me_status
from tests.support.locks import wait_until_a_backend_waits_for_a_lock
from tests.support.smtp import RecordingHandler


@pytest.fixture(autouse=True)
def _emails_are_delivered(smtp_server: RecordingHandler) -> None:
    """The reset's notice goes to the test's SMTP server (not to a closed port, logged as an error)."""


@pytest.fixture
async def holder(test_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of the test's own, to hold locks; rolled back if the test fails first."""
    async with test_engine.connect() as connection:
        await connection.begin()
        try:
            yield connection
        finally:
            await connection.rollback()


@pytest.fixture
async def reset_token(test_engine: AsyncEngine, live_user: User) -> str:
    async with AsyncSession(test_engine) as session, session.begin():
        return await issue_token(session, live_user, TokenPurpose.RESET_PASSWORD)


def reset(client: AsyncClient, token: str, new_password: str = NEW_PASSWORD) -> asyncio.Task[Response]:
    return asyncio.create_task(client.post(RESET_PASSWORD, json={"token": token, "new_password": new_password}))


async def session_survives(client: AsyncClient, tokens: dict[str, Any]) -> bool:
    refreshed = await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    return await me_status(client, tokens["access_token"]) == 200 or refreshed.status_code == 200


@pytest.mark.integration
class TestOneLinkUsedTwiceAtOnce:
    async def test_exactly_one_succeeds(
        self,
        live_client: AsyncClient,
        live_user: User,
        reset_token: str,
        test_engine: AsyncEngine,
        holder: AsyncConnection,
    ) -> None:
        """Both requests are made to wait on the token's row, then released together."""
        await holder.execute(text("SELECT 1 FROM account_tokens FOR UPDATE"))
        first = reset(live_client, reset_token, "First-new-passphrase-1")
        second = reset(live_client, reset_token, "Second-new-passphrase-2")
        await wait_until_a_backend_waits_for_a_lock(test_engine, count=2)

        await holder.commit()
        responses = await asyncio.gather(first, second)

        assert Counter(response.status_code for response in responses) == Counter({200: 1, 400: 1})
        loser = next(response for response in responses if response.status_code == 400)
        assert loser.json()["code"] == "invalid_reset_token"
        winner = "First-new-passphrase-1" if responses[0].status_code == 200 else "Second-new-passphrase-2"
        assert (await login(live_client, live_user.email, winner)).status_code == 200

    async def test_many_at_once_unforced_one_succeeds(
        self, live_client: AsyncClient, live_user: User, reset_token: str
    ) -> None:
        responses = await asyncio.gather(*(reset(live_client, reset_token) for _ in range(8)))

        assert Counter(response.status_code for response in responses) == Counter({200: 1, 400: 7})


@pytest.mark.integration
class TestResetRacingALogin:
    async def test_a_login_under_way_when_the_reset_comes_is_ended_by_it(
        self,
        live_client: AsyncClient,
        live_user: User,
        reset_token: str,
        test_engine: AsyncEngine,
        holder: AsyncConnection,
    ) -> None:
        """The login has checked the old password and holds the account row; the reset waits for
        it, then ends the session it opened."""
        await holder.execute(text("LOCK TABLE token_families IN SHARE MODE"))  # stalls the login's new session
        logging_in = asyncio.create_task(login(live_client, live_user.email, PASSWORD))
        await wait_until_a_backend_waits_for_a_lock(test_engine)
        resetting = reset(live_client, reset_token)
        await wait_until_a_backend_waits_for_a_lock(test_engine, count=2)  # the reset waits for the login

        await holder.commit()
        logged_in, was_reset = await asyncio.gather(logging_in, resetting)

        assert logged_in.status_code == 200, logged_in.text
        assert was_reset.status_code == 200, was_reset.text
        assert await session_survives(live_client, logged_in.json()) is False
        assert (await login(live_client, live_user.email, NEW_PASSWORD)).status_code == 200

    async def test_a_login_with_the_old_password_during_the_reset_is_refused(
        self,
        live_client: AsyncClient,
        live_user: User,
        reset_token: str,
        test_engine: AsyncEngine,
        holder: AsyncConnection,
    ) -> None:
        """The reset holds the account row (new password written, not yet committed); the login
        checks the old password against what is committed, then waits, and must not open a session
        that outlives the reset."""
        existing = (await login(live_client, live_user.email, PASSWORD)).json()
        family = await holder.scalar(text("SELECT id FROM token_families"))
        await holder.execute(text("SELECT 1 FROM token_families WHERE id = :id FOR UPDATE"), {"id": family})
        resetting = reset(live_client, reset_token)
        await wait_until_a_backend_waits_for_a_lock(test_engine)  # the reset, at its revocation
        logging_in = asyncio.create_task(login(live_client, live_user.email, PASSWORD))
        await wait_until_a_backend_waits_for_a_lock(test_engine, count=2)  # the login, behind the reset

        await holder.commit()
        was_reset, logged_in = await asyncio.gather(resetting, logging_in)

        assert was_reset.status_code == 200, was_reset.text
        assert logged_in.status_code == 401, logged_in.text
        assert logged_in.json()["code"] == "invalid_credentials"
        assert await session_survives(live_client, existing) is False
