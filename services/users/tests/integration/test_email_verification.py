"""Email verification over HTTP on PostgreSQL, with the email read from a real SMTP server.

Registration and an email change send a link; following it (``POST /auth/verify-email``)
verifies the account once; a used, expired, unknown or superseded token is a 400.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models.account_token import AccountToken
from app.models.user import User
from servicekit.testing.app_client import app_client
from tests.conftest import PASSWORD
from tests.factories import unique_email
from tests.support.account import REQUEST_VERIFICATION, VERIFY_EMAIL, assert_rate_limited, body_part, link_token
from tests.support.auth import LOGIN, ME, bearer, login_pair, sha256_hex
from tests.support.configured import environment, registration
from tests.support.smtp import RecordingHandler

USERS = "/api/v1/users"


async def register(client: AsyncClient, mailbox: RecordingHandler) -> tuple[dict[str, str], str]:
    """A new account and the token of the verification link it was emailed."""
    account = registration()
    response = await client.post(USERS, json=account)
    assert response.status_code == 201, response.text
    message = await mailbox.wait_for_message_to(account["email"])
    return account, link_token(message, "verify-email")


async def is_verified(client: AsyncClient, email: str) -> bool:
    access = (await login_pair(client, email))["access_token"]
    return bool((await client.get(ME, headers=bearer(access))).json()["is_verified"])


@pytest.mark.integration
class TestVerificationEmail:
    async def test_registration_emails_a_link_that_verifies_the_account(
        self, client: AsyncClient, mailbox: RecordingHandler
    ) -> None:
        account, token = await register(client, mailbox)
        assert await is_verified(client, account["email"]) is False

        response = await client.post(VERIFY_EMAIL, json={"token": token})

        assert response.status_code == 200, response.text
        assert response.json() == {"detail": "Email address verified"}
        assert await is_verified(client, account["email"]) is True

    async def test_the_email_has_a_text_and_an_html_body_from_the_configured_sender(
        self, client: AsyncClient, mailbox: RecordingHandler
    ) -> None:
        account = registration()
        await client.post(USERS, json=account)

        message = await mailbox.wait_for_message_to(account["email"])

        assert message["Subject"] == "Confirm your email address"
        assert message["From"] == "no-reply@users.example.com"
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.get_payload()] == ["text/plain", "text/html"]  # type: ignore[union-attr]

    async def test_only_the_digest_of_the_token_is_stored(
        self, client: AsyncClient, mailbox: RecordingHandler, db_session: AsyncSession
    ) -> None:
        account, token = await register(client, mailbox)

        stored = (await db_session.scalars(select(AccountToken))).all()

        assert [(row.purpose, row.email, row.token_hash) for row in stored] == [
            ("verify_email", account["email"], sha256_hex(token))
        ]
        assert len(token) == 43  # 256 bits, base64url

    async def test_the_link_works_once(self, client: AsyncClient, mailbox: RecordingHandler) -> None:
        _, token = await register(client, mailbox)
        assert (await client.post(VERIFY_EMAIL, json={"token": token})).status_code == 200

        again = await client.post(VERIFY_EMAIL, json={"token": token})

        assert again.status_code == 400
        assert again.json()["code"] == "invalid_verification_token"

    async def test_an_expired_link_is_refused(
        self, client: AsyncClient, mailbox: RecordingHandler, db_session: AsyncSession
    ) -> None:
        account, token = await register(client, mailbox)
        await db_session.execute(update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await db_session.commit()

        response = await client.post(VERIFY_EMAIL, json={"token": token})

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_verification_token"
        assert await is_verified(client, account["email"]) is False

    async def test_the_lifetime_is_24_hours(
        self, client: AsyncClient, mailbox: RecordingHandler, db_session: AsyncSession
    ) -> None:
        before = datetime.now(UTC)
        await register(client, mailbox)

        expires_at = (await db_session.scalars(select(AccountToken.expires_at))).one()

        assert before + timedelta(hours=24) <= expires_at <= datetime.now(UTC) + timedelta(hours=24)

    async def test_an_unknown_token_is_refused(self, client: AsyncClient) -> None:
        response = await client.post(VERIFY_EMAIL, json={"token": "A" * 43})

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_verification_token"

    @pytest.mark.parametrize(
        "body",
        [{}, {"token": ""}, {"token": "a b"}, {"token": "x" * 129}, {"token": 1}, {"token": "abc", "extra": 1}],
        ids=["missing", "empty", "not-base64url", "too-long", "not-a-string", "extra-field"],
    )
    async def test_a_malformed_body_is_a_422(self, client: AsyncClient, body: object) -> None:
        response = await client.post(VERIFY_EMAIL, json=body)

        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    async def test_a_failed_registration_sends_nothing(
        self, client: AsyncClient, user: User, mailbox: RecordingHandler
    ) -> None:
        response = await client.post(USERS, json=registration() | {"email": user.email})

        assert response.status_code == 409
        assert mailbox.messages == []


@pytest.mark.integration
class TestVerificationOfANewEmail:
    async def test_an_email_change_emails_the_new_address_a_link(
        self, client: AsyncClient, mailbox: RecordingHandler, db_session: AsyncSession, user: User
    ) -> None:
        user.is_verified = True
        await db_session.commit()
        access = (await login_pair(client, user.email))["access_token"]
        new_email = unique_email()

        changed = await client.patch(
            f"{USERS}/{user.id}", json={"email": new_email, "current_password": PASSWORD}, headers=bearer(access)
        )
        token = link_token(await mailbox.wait_for_message_to(new_email), "verify-email")
        verified = await client.post(VERIFY_EMAIL, json={"token": token})

        assert changed.json()["is_verified"] is False
        assert verified.status_code == 200
        assert (await client.get(ME, headers=bearer(access))).json()["is_verified"] is True

    async def test_a_link_sent_to_the_previous_address_no_longer_verifies(
        self, client: AsyncClient, mailbox: RecordingHandler
    ) -> None:
        account, old_token = await register(client, mailbox)
        access = (await login_pair(client, account["email"]))["access_token"]
        me = (await client.get(ME, headers=bearer(access))).json()
        await client.patch(
            f"{USERS}/{me['id']}", json={"email": unique_email(), "current_password": PASSWORD}, headers=bearer(access)
        )

        response = await client.post(VERIFY_EMAIL, json={"token": old_token})

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_verification_token"


@pytest.mark.integration
class TestNoticeToThePreviousAddress:
    async def test_the_previous_address_is_told_without_any_link(
        self, client: AsyncClient, mailbox: RecordingHandler, user: User
    ) -> None:
        access = (await login_pair(client, user.email))["access_token"]
        new_email = unique_email()

        await client.patch(
            f"{USERS}/{user.id}", json={"email": new_email, "current_password": PASSWORD}, headers=bearer(access)
        )

        notice = await mailbox.wait_for_message_to(user.email)
        assert notice["Subject"] == "The email address of your account was changed"
        text, html = body_part(notice, "text/plain"), body_part(notice, "text/html")
        assert new_email in text
        assert "http" not in text
        assert "<a " not in html
        assert "#token=" not in notice.as_string()

    async def test_a_refused_change_tells_no_one(
        self, client: AsyncClient, mailbox: RecordingHandler, user: User, auth_headers: dict[str, str]
    ) -> None:
        response = await client.patch(
            f"{USERS}/{user.id}",
            json={"email": unique_email(), "current_password": "Wrong-password-1"},
            headers=auth_headers,
        )

        assert response.status_code == 403
        assert mailbox.messages == []

    async def test_a_new_username_tells_no_one(
        self, client: AsyncClient, mailbox: RecordingHandler, user: User, auth_headers: dict[str, str]
    ) -> None:
        response = await client.patch(f"{USERS}/{user.id}", json={"username": "renamed_user"}, headers=auth_headers)

        assert response.status_code == 200
        assert mailbox.messages == []


@pytest.mark.integration
class TestRequestVerification:
    async def test_sends_a_new_link_and_the_previous_one_stops_working(
        self, client: AsyncClient, mailbox: RecordingHandler
    ) -> None:
        account, first = await register(client, mailbox)
        access = (await login_pair(client, account["email"]))["access_token"]
        mailbox.messages.clear()

        response = await client.post(REQUEST_VERIFICATION, headers=bearer(access))
        second = link_token(await mailbox.wait_for_message_to(account["email"]), "verify-email")

        assert response.status_code == 202
        assert response.json() == {"detail": "Verification email sent"}
        assert (await client.post(VERIFY_EMAIL, json={"token": first})).status_code == 400
        assert (await client.post(VERIFY_EMAIL, json={"token": second})).status_code == 200

    async def test_a_verified_account_gets_a_409(
        self,
        client: AsyncClient,
        db_session: AsyncSession,
        user: User,
        auth_headers: dict[str, str],
        mailbox: RecordingHandler,
    ) -> None:
        user.is_verified = True
        await db_session.commit()

        response = await client.post(REQUEST_VERIFICATION, headers=auth_headers)

        assert response.status_code == 409
        assert response.json()["code"] == "already_verified"
        assert mailbox.messages == []

    async def test_needs_a_signed_in_user(self, client: AsyncClient) -> None:
        response = await client.post(REQUEST_VERIFICATION)

        assert response.status_code == 401


@pytest.fixture
async def two_requests_a_window(db_connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    """The app with two verification emails per account per window, inside the test's transaction."""
    with environment(VERIFICATION_EMAILS_PER_ACCOUNT="2"):
        from app.main import create_app  # noqa: PLC0415 - built after the environment is set

        async with app_client(create_app(), db_connection) as client:
            yield client


@pytest.mark.integration
async def test_verification_emails_are_rate_limited_per_account(
    two_requests_a_window: AsyncClient, user: User, auth_headers: dict[str, str], mailbox: RecordingHandler
) -> None:
    client = two_requests_a_window
    accepted = [await client.post(REQUEST_VERIFICATION, headers=auth_headers) for _ in range(2)]

    refused = await client.post(REQUEST_VERIFICATION, headers=auth_headers)

    assert [response.status_code for response in accepted] == [202, 202]
    assert_rate_limited(refused)
    assert len(mailbox.to(user.email)) == 2


@pytest.mark.integration
class TestUnverifiedLogin:
    async def test_allowed_by_default_with_is_verified_false(self, client: AsyncClient, user: User) -> None:
        access = (await login_pair(client, user.email))["access_token"]

        assert (await client.get(ME, headers=bearer(access))).json()["is_verified"] is False

    async def test_refused_when_configured_until_the_address_is_verified(
        self, db_connection: AsyncConnection, mailbox: RecordingHandler
    ) -> None:
        with environment(ALLOW_UNVERIFIED_LOGIN="false"):
            from app.main import create_app  # noqa: PLC0415

            async with app_client(create_app(), db_connection) as client:
                account, token = await register(client, mailbox)
                credentials = {"email": account["email"], "password": account["password"]}
                refused = await client.post(LOGIN, json=credentials)
                wrong = await client.post(LOGIN, json=credentials | {"password": "Wrong-password-1"})
                await client.post(VERIFY_EMAIL, json={"token": token})
                accepted = await client.post(LOGIN, json=credentials)

        assert refused.status_code == 403
        assert refused.json()["code"] == "email_not_verified"
        assert wrong.status_code == 401  # only the password's owner learns the account is unverified
        assert accepted.status_code == 200
