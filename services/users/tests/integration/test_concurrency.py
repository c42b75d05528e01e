"""Races settled by the database: duplicate registrations and concurrent refresh token rotation.

These use ``live_client``: every request has its own session and really commits, so the
requests race for real in PostgreSQL (unique indexes, ``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import jwt
import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.token import TokenFamily
from app.models.user import User
from tests.conftest import PASSWORD
from tests.factories import unique_email, unique_username

USERS = "/api/v1/users"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"


async def count_users_with_email(engine: AsyncEngine, email: str) -> int:
    async with engine.connect() as connection:
        statement = select(func.count()).select_from(User).where(func.lower(User.email) == email.lower())
        return int((await connection.execute(statement)).scalar_one())


def case_variants(local_letters: str, count: int) -> list[str]:
    """``count`` spellings of one address, each with one more upper-case letter."""
    assert len(local_letters) >= count
    suffix = f"{uuid.uuid4().hex[:12]}@example.com"
    return [local_letters[:i].upper() + local_letters[i:] + suffix for i in range(count)]


def statuses(responses: list[Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


@pytest.mark.integration
class TestConcurrentRegistration:
    async def test_identical_registrations_create_exactly_one_user(
        self, live_client: AsyncClient, test_engine: AsyncEngine
    ) -> None:
        payload = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}

        responses = await asyncio.gather(*(live_client.post(USERS, json=payload) for _ in range(10)))

        assert statuses(responses) == Counter({201: 1, 409: 9})
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"user_already_exists"}
        assert await count_users_with_email(test_engine, payload["email"]) == 1

    async def test_same_email_in_different_letter_case_creates_exactly_one_user(
        self, live_client: AsyncClient, test_engine: AsyncEngine
    ) -> None:
        emails = case_variants("concurrentrace", 10)
        assert len({email.lower() for email in emails}) == 1
        assert len(set(emails)) == 10

        responses = await asyncio.gather(
            *(
                live_client.post(USERS, json={"email": email, "username": unique_username(), "password": PASSWORD})
                for email in emails
            )
        )

        assert statuses(responses) == Counter({201: 1, 409: 9})
        assert await count_users_with_email(test_engine, emails[0]) == 1

    async def test_same_username_in_different_letter_case_creates_exactly_one_user(
        self, live_client: AsyncClient, test_engine: AsyncEngine
    ) -> None:
        username = f"racer_{uuid.uuid4().hex[:12]}"
        names = [username[:i].upper() + username[i:] for i in range(1, 6)]
        assert len(set(names)) == 5

        responses = await asyncio.gather(
            *(
                live_client.post(USERS, json={"email": unique_email(), "username": name, "password": PASSWORD})
                for name in names
            )
        )

        assert statuses(responses) == Counter({201: 1, 409: 4})
        async with test_engine.connect() as connection:
            statement = select(func.count()).select_from(User).where(func.lower(User.username) == username.lower())
            assert (await connection.execute(statement)).scalar_one() == 1


@pytest.mark.integration
class TestConcurrentRefresh:
    async def test_one_refresh_token_rotates_once_and_its_family_is_revoked(
        self, live_client: AsyncClient, test_engine: AsyncEngine
    ) -> None:
        email = unique_email()
        registered = await live_client.post(
            USERS, json={"email": email, "username": unique_username(), "password": PASSWORD}
        )
        assert registered.status_code == 201
        login = await live_client.post(LOGIN, json={"email": email, "password": PASSWORD})
        assert login.status_code == 200
        pair = login.json()
        family_id = uuid.UUID(jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"])

        responses = await asyncio.gather(
            *(live_client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}) for _ in range(5))
        )

        assert statuses(responses) == Counter({200: 1, 401: 4})
        assert {r.json()["code"] for r in responses if r.status_code == 401} == {"invalid_token"}
        async with test_engine.connect() as connection:
            revoked_at = (
                await connection.execute(select(TokenFamily.revoked_at).where(TokenFamily.id == family_id))
            ).scalar_one()
        assert revoked_at is not None
        winner = next(r.json() for r in responses if r.status_code == 200)
        assert (await live_client.post(REFRESH, json={"refresh_token": winner["refresh_token"]})).status_code == 401
        assert (
            await live_client.get(ME, headers={"Authorization": f"Bearer {winner['access_token']}"})
        ).status_code == 401
