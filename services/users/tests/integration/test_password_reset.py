"""Password reset over HTTP on PostgreSQL, the link read from a real SMTP server.

``POST /auth/forgot-password`` answers the same, after the same work, whether or not the account
exists; ``POST /auth/reset-password`` sets the password with a single-use link and ends every
session of the account.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from httpx import AsyncClient
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app import tasks
from app.config import get_settings
from app.main import app, create_app
from app.models.account_token import AccountToken, TokenPurpose
from app.models.user import User
from servicekit.testing.app_client import app_client
from tests.conftest import PASSWORD
from tests.factories import unique_email
from tests.support.account import (
    FORGOT_PASSWORD,
    NEW_PASSWORD,
    RESET_PASSWORD,
    assert_rate_limited,
    issue_token,
    jobs_inside,
    link_token,
)
from tests.support.auth import LOGIN, ME, REFRESH, bearer, login, login_pair, me_status, without_request_id
from tests.support.configured import environment
from tests.support.smtp import RecordingHandler

FORGOT_ANSWER = {"detail": "If an account uses this address, a password reset link has been sent to it"}


@pytest.fixture
def resets(client: AsyncClient, db_connection: AsyncConnection) -> AsyncClient:
    """``client``, its after-response work also inside the test's transaction."""
    jobs_inside(app, db_connection)
    return client


async def emailed_reset_token(client: AsyncClient, mailbox: RecordingHandler, email: str) -> str:
    response = await client.post(FORGOT_PASSWORD, json={"email": email})
    assert response.status_code == 202, response.text
    message = await mailbox.wait_for_message_to(email, subject="Reset your password")
    return link_token(message, "reset-password")


async def reset(client: AsyncClient, token: str, new_password: str = NEW_PASSWORD) -> Any:
    return await client.post(RESET_PASSWORD, json={"token": token, "new_password": new_password})


@pytest.mark.integration
class TestForgotPassword:
    async def test_emails_a_link_that_resets_the_password(
        self, resets: AsyncClient, user: User, mailbox: RecordingHandler
    ) -> None:
        token = await emailed_reset_token(resets, mailbox, user.email)

        response = await reset(resets, token)

        assert response.status_code == 200, response.text
        assert (await login(resets, user.email, NEW_PASSWORD)).status_code == 200
        assert (await login(resets, user.email, PASSWORD)).status_code == 401

    async def test_the_after_response_work_runs_in_a_transaction_of_its_own_in_service(
        self, live_client: AsyncClient, live_user: User, mailbox: RecordingHandler
    ) -> None:
        """The production opener (``get_transaction_opener``), not the test's: the link's token
        is committed by the work's own transaction, so the emailed link resets the password."""
        token = await emailed_reset_token(live_client, mailbox, live_user.email)

        response = await reset(live_client, token)

        assert response.status_code == 200, response.text
        assert (await login(live_client, live_user.email, NEW_PASSWORD)).status_code == 200

    async def test_the_answer_is_the_same_for_an_unknown_address_and_nothing_is_sent(
        self, resets: AsyncClient, user: User, mailbox: RecordingHandler, db_session: AsyncSession
    ) -> None:
        known = await resets.post(FORGOT_PASSWORD, json={"email": user.email})
        mailbox.messages.clear()

        unknown = await resets.post(FORGOT_PASSWORD, json={"email": unique_email()})

        assert known.status_code == unknown.status_code == 202
        assert without_request_id(known) == without_request_id(unknown) == FORGOT_ANSWER
        assert {name: value for name, value in known.headers.items() if name != "x-request-id"} == {
            name: value for name, value in unknown.headers.items() if name != "x-request-id"
        }
        assert mailbox.messages == []
        assert len((await db_session.scalars(select(AccountToken))).all()) == 1  # the known account's only

    async def test_the_request_does_the_same_work_for_both_before_answering(
        self, resets: AsyncClient, db_connection: AsyncConnection, user: User
    ) -> None:
        """No statement reaches the database before the answer, for either address; the work that
        depends on the account (lookup, token, email) is scheduled the same way for both."""
        statements: list[str] = []
        event.listen(db_connection.sync_connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
        with patch("app.tasks.send_password_reset_link", autospec=True) as scheduled:
            await resets.post(FORGOT_PASSWORD, json={"email": user.email})
            await resets.post(FORGOT_PASSWORD, json={"email": "nobody@example.com"})

        assert statements == []
        [(known_opener, known_settings, known_email), (other_opener, other_settings, other_email)] = [
            call.args for call in scheduled.await_args_list
        ]
        assert (known_email, other_email) == (user.email, "nobody@example.com")
        assert known_settings is other_settings is get_settings()
        assert type(known_opener) is type(other_opener)

    async def test_a_deactivated_account_gets_no_email(
        self, resets: AsyncClient, db_session: AsyncSession, user: User, mailbox: RecordingHandler
    ) -> None:
        user.is_active = False
        await db_session.commit()

        response = await resets.post(FORGOT_PASSWORD, json={"email": user.email})

        assert response.json() == FORGOT_ANSWER
        assert mailbox.messages == []

    async def test_the_link_lives_30_minutes(
        self, resets: AsyncClient, user: User, mailbox: RecordingHandler, db_session: AsyncSession
    ) -> None:
        before = datetime.now(UTC)
        await emailed_reset_token(resets, mailbox, user.email)

        stored = (await db_session.scalars(select(AccountToken))).one()

        assert stored.purpose == TokenPurpose.RESET_PASSWORD
        assert before + timedelta(minutes=30) <= stored.expires_at <= datetime.now(UTC) + timedelta(minutes=30)

    async def test_asking_again_ends_the_previous_link(
        self, resets: AsyncClient, user: User, mailbox: RecordingHandler
    ) -> None:
        first = await emailed_reset_token(resets, mailbox, user.email)
        mailbox.messages.clear()
        second = await emailed_reset_token(resets, mailbox, user.email)

        refused = await reset(resets, first)
        accepted = await reset(resets, second)

        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid_reset_token"
        assert accepted.status_code == 200

    @pytest.mark.parametrize("body", [{}, {"email": "not-an-email"}, {"email": "a@example.com", "x": 1}])
    async def test_a_malformed_body_is_a_422(self, resets: AsyncClient, body: object) -> None:
        assert (await resets.post(FORGOT_PASSWORD, json=body)).status_code == 422


@pytest.mark.integration
class TestResetPassword:
    async def test_ends_every_session_of_the_account(
        self, resets: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        sessions = [await login_pair(resets, user.email) for _ in range(2)]
        token = await issue_token(db_session, user, TokenPurpose.RESET_PASSWORD)
        await db_session.commit()
        assert [await me_status(resets, pair["access_token"]) for pair in sessions] == [200, 200]

        assert (await reset(resets, token)).status_code == 200

        assert [await me_status(resets, pair["access_token"]) for pair in sessions] == [401, 401]
        refreshed = [await resets.post(REFRESH, json={"refresh_token": pair["refresh_token"]}) for pair in sessions]
        assert [response.status_code for response in refreshed] == [401, 401]

    async def test_the_link_works_once(self, resets: AsyncClient, user: User, db_session: AsyncSession) -> None:
        token = await issue_token(db_session, user, TokenPurpose.RESET_PASSWORD)
        await db_session.commit()
        assert (await reset(resets, token)).status_code == 200

        again = await reset(resets, token, "Yet-another-passphrase-7")

        assert again.status_code == 400
        assert again.json()["code"] == "invalid_reset_token"
        assert (await login(resets, user.email, NEW_PASSWORD)).status_code == 200

    async def test_an_expired_link_is_refused(self, resets: AsyncClient, user: User, db_session: AsyncSession) -> None:
        token = await issue_token(db_session, user, TokenPurpose.RESET_PASSWORD)
        await db_session.execute(update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await db_session.commit()

        response = await reset(resets, token)

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_reset_token"
        assert (await login(resets, user.email)).status_code == 200

    async def test_a_verification_link_cannot_reset_the_password(
        self, resets: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        token = await issue_token(db_session, user, TokenPurpose.VERIFY_EMAIL)
        await db_session.commit()

        assert (await reset(resets, token)).status_code == 400

    async def test_a_password_the_policy_refuses_keeps_the_link_usable(
        self, resets: AsyncClient, user: User, db_session: AsyncSession
    ) -> None:
        token = await issue_token(db_session, user, TokenPurpose.RESET_PASSWORD)
        await db_session.commit()

        own_name = await reset(resets, token, user.email)
        common = await reset(resets, token, "password123")
        short = await reset(resets, token, "Short1!")
        accepted = await reset(resets, token)

        assert own_name.status_code == 422
        assert own_name.json()["code"] == "weak_password"
        assert common.status_code == short.status_code == 422
        assert common.json()["code"] == "validation_error"
        assert accepted.status_code == 200

    async def test_the_address_is_verified_and_the_owner_told(
        self, resets: AsyncClient, user: User, mailbox: RecordingHandler
    ) -> None:
        token = await emailed_reset_token(resets, mailbox, user.email)

        await reset(resets, token)

        access = (await login(resets, user.email, NEW_PASSWORD)).json()["access_token"]
        assert (await resets.get(ME, headers=bearer(access))).json()["is_verified"] is True
        notice = await mailbox.wait_for_message_to(user.email, subject="Your password was changed")
        assert "#token=" not in notice.as_string()

    @pytest.mark.parametrize(
        "body",
        [{}, {"token": "abc"}, {"new_password": NEW_PASSWORD}, {"token": "a b", "new_password": NEW_PASSWORD}],
        ids=["empty", "no-password", "no-token", "bad-token"],
    )
    async def test_a_malformed_body_is_a_422(self, resets: AsyncClient, body: object) -> None:
        assert (await resets.post(RESET_PASSWORD, json=body)).status_code == 422


@asynccontextmanager
async def limited(db_connection: AsyncConnection, **settings: str) -> AsyncIterator[AsyncClient]:
    with environment(**settings):
        application = create_app()
        jobs_inside(application, db_connection)
        async with app_client(application, db_connection) as client:
            yield client


@pytest.mark.integration
class TestRateLimits:
    async def test_forgot_password_per_address_known_or_not(self, db_connection: AsyncConnection, user: User) -> None:
        async with limited(db_connection, PASSWORD_RESETS_PER_ACCOUNT="2") as client:
            for email in (user.email, "nobody@example.com"):
                accepted = [await client.post(FORGOT_PASSWORD, json={"email": email}) for _ in range(2)]
                refused = await client.post(FORGOT_PASSWORD, json={"email": email.upper()})

                assert [response.status_code for response in accepted] == [202, 202]
                assert_rate_limited(refused)

    async def test_forgot_password_per_client(self, db_connection: AsyncConnection) -> None:
        async with limited(db_connection, PASSWORD_RESETS_PER_CLIENT="2") as client:
            for _ in range(2):
                assert (await client.post(FORGOT_PASSWORD, json={"email": unique_email()})).status_code == 202

            assert_rate_limited(await client.post(FORGOT_PASSWORD, json={"email": unique_email()}))

    async def test_reset_attempts_per_client(
        self, db_connection: AsyncConnection, user: User, db_session: AsyncSession
    ) -> None:
        token = await issue_token(db_session, user, TokenPurpose.RESET_PASSWORD)
        await db_session.commit()
        async with limited(db_connection, PASSWORD_RESETS_PER_CLIENT="2") as client:
            guesses = [await reset(client, "A" * 43) for _ in range(2)]
            refused = await reset(client, token)

        assert [response.status_code for response in guesses] == [400, 400]
        assert_rate_limited(refused)


@pytest.fixture
def caplog_tasks(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.ERROR, logger="app.tasks"):
        yield caplog


@pytest.mark.integration
async def test_the_after_response_work_logs_a_failure_instead_of_raising(
    caplog_tasks: pytest.LogCaptureFixture, mailbox: RecordingHandler
) -> None:
    @asynccontextmanager
    async def unavailable() -> AsyncIterator[AsyncSession]:
        msg = "database down"
        raise ConnectionError(msg)
        yield  # pragma: no cover - never reached

    await tasks.send_password_reset_link(unavailable, get_settings(), "someone@example.com")

    assert "could not prepare a password reset link" in caplog_tasks.text
    assert "someone@example.com" not in caplog_tasks.text
    assert mailbox.messages == []


@pytest.mark.integration
async def test_the_login_route_still_refuses_a_wrong_password_after_a_reset(
    resets: AsyncClient, user: User, db_session: AsyncSession
) -> None:
    token = await issue_token(db_session, user, TokenPurpose.RESET_PASSWORD)
    await db_session.commit()
    await reset(resets, token)

    response = await resets.post(LOGIN, json={"email": user.email, "password": PASSWORD})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
