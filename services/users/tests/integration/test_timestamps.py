"""``updated_at`` moves on every update, ``created_at`` never: checked across real commits.

Inside one transaction ``now()`` does not move, so these use ``live_client``: every request is its
own committed transaction, and the stored rows are read back on a separate connection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.post import Post
from app.models.user import User
from tests.conftest import PASSWORD
from tests.factories import unique_email, unique_username
from tests.support.auth import LOGIN, bearer

USERS = "/api/v1/users"
POSTS = "/api/v1/posts"


async def stored_timestamps(
    engine: AsyncEngine, model: type[User] | type[Post], row_id: int
) -> tuple[datetime, datetime]:
    """(created_at, updated_at) as committed, read on a connection of its own."""
    async with engine.connect() as connection:
        row = (await connection.execute(select(model.created_at, model.updated_at).where(model.id == row_id))).one()
    return row.created_at, row.updated_at


async def registered_and_logged_in(client: AsyncClient) -> tuple[dict[str, Any], dict[str, str]]:
    account = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}
    registered = await client.post(USERS, json=account)
    assert registered.status_code == 201, registered.text
    logged_in = await client.post(LOGIN, json={"email": account["email"], "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    return registered.json(), bearer(logged_in.json()["access_token"])


@pytest.mark.integration
class TestUpdatedAt:
    async def test_a_profile_update_moves_updated_at_and_keeps_created_at(
        self, live_client: AsyncClient, test_engine: AsyncEngine
    ) -> None:
        user, headers = await registered_and_logged_in(live_client)
        created_at, updated_before = await stored_timestamps(test_engine, User, user["id"])

        response = await live_client.patch(
            f"{USERS}/{user['id']}", json={"username": unique_username()}, headers=headers
        )

        assert response.status_code == 200, response.text
        created_after, updated_after = await stored_timestamps(test_engine, User, user["id"])
        assert created_after == created_at
        assert updated_after > updated_before
        assert datetime.fromisoformat(response.json()["updated_at"]) == updated_after

    async def test_a_post_update_moves_updated_at_and_keeps_created_at(
        self, live_client: AsyncClient, test_engine: AsyncEngine
    ) -> None:
        _, headers = await registered_and_logged_in(live_client)
        created = await live_client.post(POSTS, json={"title": "Before", "content": "Body"}, headers=headers)
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        created_at, updated_before = await stored_timestamps(test_engine, Post, post_id)

        response = await live_client.patch(f"{POSTS}/{post_id}", json={"title": "After"}, headers=headers)

        assert response.status_code == 200, response.text
        created_after, updated_after = await stored_timestamps(test_engine, Post, post_id)
        assert created_after == created_at
        assert updated_after > updated_before
        assert datetime.fromisoformat(response.json()["updated_at"]) == updated_after
