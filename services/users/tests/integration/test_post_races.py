"""Concurrent changes of one post: the loser of a race gets 404 (the post is gone) or sees the
winner's result, never a 500.

These commit for real (``live_client``, ``live_user``): a second connection holds a row lock
while the request under test runs, so the interleaving is forced rather than hoped for.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm.exc import StaleDataError

from app.models.user import User
from app.utils.jwt import create_access_token
from tests.support.app_client import response_when_a_route_raises
from tests.support.locks import wait_until_a_backend_waits_for_a_lock

POSTS = "/api/v1/posts"


@pytest.fixture
def headers(live_user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token({'sub': str(live_user.id)})}"}


@pytest.fixture
async def post_id(live_client: AsyncClient, headers: dict[str, str]) -> int:
    created = await live_client.post(POSTS, json={"title": "Race", "content": "Body"}, headers=headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture
async def other_connection(test_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with test_engine.connect() as connection:
        yield connection


async def wait_until_a_request_waits_for_a_lock(watcher: AsyncEngine) -> None:
    """Until some backend of this database waits for a row lock (``pg_stat_activity``)."""
    await wait_until_a_backend_waits_for_a_lock(watcher)


async def answer_once_the_lock_is_released(
    engine: AsyncEngine, holder: AsyncConnection, request: asyncio.Task[Response]
) -> Response:
    """``holder`` changes the post in an open transaction; once ``request`` waits for that row,
    ``holder`` commits, and the request's answer is returned."""
    await wait_until_a_request_waits_for_a_lock(engine)
    await holder.commit()
    return await request


@pytest.mark.integration
class TestPostRaces:
    async def test_update_of_a_post_deleted_meanwhile_is_not_found(
        self,
        live_client: AsyncClient,
        headers: dict[str, str],
        post_id: int,
        test_engine: AsyncEngine,
        other_connection: AsyncConnection,
    ) -> None:
        await other_connection.execute(text("DELETE FROM posts WHERE id = :id"), {"id": post_id})
        patch = asyncio.create_task(live_client.patch(f"{POSTS}/{post_id}", json={"title": "Late"}, headers=headers))

        response = await answer_once_the_lock_is_released(test_engine, other_connection, patch)

        assert response.status_code == 404, response.text
        assert response.json()["code"] == "post_not_found"

    async def test_delete_of_a_post_changed_meanwhile_deletes_it(
        self,
        live_client: AsyncClient,
        headers: dict[str, str],
        post_id: int,
        test_engine: AsyncEngine,
        other_connection: AsyncConnection,
    ) -> None:
        await other_connection.execute(text("UPDATE posts SET title = 'Changed' WHERE id = :id"), {"id": post_id})
        delete = asyncio.create_task(live_client.delete(f"{POSTS}/{post_id}", headers=headers))

        response = await answer_once_the_lock_is_released(test_engine, other_connection, delete)

        assert response.status_code == 204, response.text
        assert (await live_client.get(f"{POSTS}/{post_id}", headers=headers)).status_code == 404

    async def test_second_of_two_deletes_is_not_found(
        self,
        live_client: AsyncClient,
        headers: dict[str, str],
        post_id: int,
        test_engine: AsyncEngine,
        other_connection: AsyncConnection,
    ) -> None:
        await other_connection.execute(text("DELETE FROM posts WHERE id = :id"), {"id": post_id})
        delete = asyncio.create_task(live_client.delete(f"{POSTS}/{post_id}", headers=headers))

        response = await answer_once_the_lock_is_released(test_engine, other_connection, delete)

        assert response.status_code == 404, response.text

    async def test_simultaneous_updates_and_deletes_never_fail_the_server(
        self, live_client: AsyncClient, headers: dict[str, str]
    ) -> None:
        """Many unforced races: each PATCH either wins (200) or finds the post gone (404)."""
        created = [
            await live_client.post(POSTS, json={"title": f"P{index}", "content": "c"}, headers=headers)
            for index in range(10)
        ]
        ids = [response.json()["id"] for response in created]

        patches, deletes = await asyncio.gather(
            asyncio.gather(*(live_client.patch(f"{POSTS}/{i}", json={"title": "x"}, headers=headers) for i in ids)),
            asyncio.gather(*(live_client.delete(f"{POSTS}/{i}", headers=headers) for i in ids)),
        )

        assert Counter(response.status_code for response in deletes) == Counter({204: len(ids)})
        assert set(Counter(response.status_code for response in patches)) <= {200, 404}


@pytest.mark.integration
async def test_any_update_that_matched_no_row_is_a_conflict() -> None:
    """The safety net of every other update or delete: a 0-row UPDATE is a 409, not a 500."""
    response = await response_when_a_route_raises(StaleDataError("UPDATE statement on table 'x' matched 0 rows"))

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
