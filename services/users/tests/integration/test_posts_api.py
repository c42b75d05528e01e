"""The posts API: drafts are private to their author, published posts are public."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.post import Post
from app.models.user import User
from app.schemas.common import MAX_INT_ID
from app.utils.jwt import create_access_token
from tests.factories import PostFactory, UserFactory

POSTS = "/api/v1/posts"


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token({'sub': str(user.id)})}"}


async def count_posts(db_session: AsyncSession) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(Post)) or 0)


@pytest.fixture
async def author(db_session: AsyncSession) -> User:
    return await UserFactory.create(db_session)


@pytest.fixture
async def stranger(db_session: AsyncSession) -> User:
    return await UserFactory.create(db_session)


@pytest.fixture
async def published(db_session: AsyncSession, author: User) -> Post:
    return await PostFactory.create(db_session, author.id, published=True)


@pytest.fixture
async def draft(db_session: AsyncSession, author: User) -> Post:
    return await PostFactory.create(db_session, author.id, published=False)


@pytest.mark.integration
class TestCreatePost:
    async def test_creates_a_post_of_the_caller(self, client: AsyncClient, author: User) -> None:
        response = await client.post(
            POSTS, json={"title": "Hello", "content": "First post", "published": True}, headers=bearer(author)
        )

        assert response.status_code == 201
        body = response.json()
        assert body["user_id"] == author.id
        assert body["title"] == "Hello"
        assert body["published"] is True
        fetched = await client.get(f"{POSTS}/{body['id']}")
        assert fetched.status_code == 200

    async def test_a_new_post_is_a_draft_by_default(self, client: AsyncClient, author: User) -> None:
        response = await client.post(POSTS, json={"title": "Draft", "content": "Not yet"}, headers=bearer(author))

        assert response.status_code == 201
        assert response.json()["published"] is False

    async def test_requires_authentication(self, client: AsyncClient, db_session: AsyncSession) -> None:
        response = await client.post(POSTS, json={"title": "Hello", "content": "World"})

        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert await count_posts(db_session) == 0

    @pytest.mark.parametrize(
        "body",
        [
            {"title": "", "content": "c"},
            {"title": "t" * 201, "content": "c"},
            {"title": "t", "content": ""},
            {"content": "no title"},
            {"title": "no content"},
            {"title": "t", "content": "c", "user_id": 1},
            {"title": "t", "content": "c", "id": 1},
            {"title": "t", "content": "c", "created_at": "2000-01-01T00:00:00Z"},
            {"title": "nul\x00title", "content": "c"},
            {"title": "t", "content": "nul\x00content"},
            {"title": "t", "content": "c", "published": "maybe"},
            {"title": "t", "content": "c", "published": 1},
            {"title": "t", "content": "c", "published": "true"},
        ],
        ids=[
            "empty-title",
            "long-title",
            "empty-content",
            "no-title",
            "no-content",
            "user_id",
            "id",
            "created_at",
            "nul-title",
            "nul-content",
            "bad-published",
            "number-published",
            "string-published",
        ],
    )
    async def test_invalid_input_is_422(
        self, client: AsyncClient, db_session: AsyncSession, author: User, body: dict[str, Any]
    ) -> None:
        response = await client.post(POSTS, json=body, headers=bearer(author))

        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert await count_posts(db_session) == 0

    async def test_title_of_200_characters_is_accepted(self, client: AsyncClient, author: User) -> None:
        response = await client.post(POSTS, json={"title": "t" * 200, "content": "c"}, headers=bearer(author))

        assert response.status_code == 201


@pytest.mark.integration
class TestListPosts:
    async def test_lists_only_published_newest_first(
        self, client: AsyncClient, db_session: AsyncSession, author: User, stranger: User
    ) -> None:
        created = [
            await PostFactory.create(db_session, owner.id, published=is_published)
            for owner, is_published in [
                (author, True),
                (stranger, False),
                (stranger, True),
                (author, False),
                (author, True),
            ]
        ]
        expected = [post.id for post in reversed(created) if post.published]

        response = await client.get(POSTS)

        assert response.status_code == 200
        body = response.json()
        assert [item["id"] for item in body["items"]] == expected
        assert all(item["published"] for item in body["items"])
        assert body["next_offset"] is None

    async def test_pages_with_limit_offset_and_next_offset(
        self, client: AsyncClient, db_session: AsyncSession, author: User
    ) -> None:
        posts = [await PostFactory.create(db_session, author.id, published=True) for _ in range(5)]
        newest_first = [post.id for post in reversed(posts)]

        pages: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            response = await client.get(POSTS, params={"limit": 2, "offset": offset})
            assert response.status_code == 200
            pages.append(response.json())
            offset = pages[-1]["next_offset"]

        assert [[item["id"] for item in page["items"]] for page in pages] == [
            newest_first[0:2],
            newest_first[2:4],
            newest_first[4:5],
        ]
        assert [(page["limit"], page["offset"], page["next_offset"]) for page in pages] == [
            (2, 0, 2),
            (2, 2, 4),
            (2, 4, None),
        ]

    async def test_limit_of_100_is_allowed(self, client: AsyncClient, published: Post) -> None:
        response = await client.get(POSTS, params={"limit": 100})

        assert response.status_code == 200
        assert response.json()["limit"] == 100
        assert [item["id"] for item in response.json()["items"]] == [published.id]

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 101},
            {"limit": 0},
            {"limit": -1},
            {"offset": -1},
            {"limit": "many"},
            {"offset": str(2**63)},
        ],
    )
    async def test_bad_paging_is_422(self, client: AsyncClient, params: dict[str, Any]) -> None:
        response = await client.get(POSTS, params=params)

        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


@pytest.mark.integration
class TestReadPost:
    async def test_published_post_is_visible_to_anonymous(self, client: AsyncClient, published: Post) -> None:
        response = await client.get(f"{POSTS}/{published.id}")

        assert response.status_code == 200
        assert response.json()["id"] == published.id
        assert response.json()["title"] == published.title

    async def test_draft_is_404_for_anonymous(self, client: AsyncClient, draft: Post) -> None:
        response = await client.get(f"{POSTS}/{draft.id}")

        assert response.status_code == 404
        assert response.json()["code"] == "post_not_found"

    async def test_draft_is_404_for_another_user(self, client: AsyncClient, draft: Post, stranger: User) -> None:
        response = await client.get(f"{POSTS}/{draft.id}", headers=bearer(stranger))

        assert response.status_code == 404
        assert response.json()["code"] == "post_not_found"

    async def test_draft_is_visible_to_its_author(self, client: AsyncClient, draft: Post, author: User) -> None:
        response = await client.get(f"{POSTS}/{draft.id}", headers=bearer(author))

        assert response.status_code == 200
        assert response.json()["published"] is False

    async def test_unknown_post_is_404(self, client: AsyncClient) -> None:
        response = await client.get(f"{POSTS}/{MAX_INT_ID}")

        assert response.status_code == 404
        assert response.json()["code"] == "post_not_found"

    @pytest.mark.parametrize("post_id", ["0", "-5", str(2**31), str(2**63), "abc"])
    async def test_odd_ids_are_422(self, client: AsyncClient, post_id: str) -> None:
        response = await client.get(f"{POSTS}/{post_id}")

        assert response.status_code == 422


@pytest.mark.integration
class TestUpdatePost:
    async def test_author_updates_the_given_fields_only(self, client: AsyncClient, draft: Post, author: User) -> None:
        original_content = draft.content

        response = await client.patch(
            f"{POSTS}/{draft.id}", json={"title": "Edited", "published": True}, headers=bearer(author)
        )

        assert response.status_code == 200
        body = response.json()
        assert body["title"] == "Edited"
        assert body["published"] is True
        assert body["content"] == original_content
        assert (await client.get(f"{POSTS}/{draft.id}")).json()["title"] == "Edited"

    async def test_another_user_gets_403_on_a_published_post(
        self, client: AsyncClient, published: Post, stranger: User
    ) -> None:
        original_title = published.title

        response = await client.patch(f"{POSTS}/{published.id}", json={"title": "Hijacked"}, headers=bearer(stranger))

        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert (await client.get(f"{POSTS}/{published.id}")).json()["title"] == original_title

    async def test_another_user_gets_404_on_a_draft(
        self, client: AsyncClient, draft: Post, author: User, stranger: User
    ) -> None:
        response = await client.patch(f"{POSTS}/{draft.id}", json={"title": "Hijacked"}, headers=bearer(stranger))

        assert response.status_code == 404
        assert response.json()["code"] == "post_not_found"
        own_view = await client.get(f"{POSTS}/{draft.id}", headers=bearer(author))
        assert own_view.json()["title"] != "Hijacked"

    async def test_requires_authentication(self, client: AsyncClient, published: Post) -> None:
        response = await client.patch(f"{POSTS}/{published.id}", json={"title": "Anonymous"})

        assert response.status_code == 401

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"title": None},
            {"content": None},
            {"published": None},
            {"title": "ok", "content": None},
            {"title": ""},
            {"title": "t" * 201},
            {"user_id": 1},
            {"title": "nul\x00"},
            {"published": 0},
        ],
        ids=[
            "empty",
            "null-title",
            "null-content",
            "null-published",
            "one-null",
            "blank",
            "long",
            "user_id",
            "nul",
            "number-published",
        ],
    )
    async def test_empty_null_or_invalid_update_is_422(
        self, client: AsyncClient, published: Post, author: User, body: dict[str, Any]
    ) -> None:
        original_title = published.title

        response = await client.patch(f"{POSTS}/{published.id}", json=body, headers=bearer(author))

        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert (await client.get(f"{POSTS}/{published.id}")).json()["title"] == original_title


@pytest.mark.integration
class TestDeletePost:
    async def test_author_deletes_then_it_is_gone(self, client: AsyncClient, published: Post, author: User) -> None:
        response = await client.delete(f"{POSTS}/{published.id}", headers=bearer(author))

        assert response.status_code == 204
        assert response.content == b""
        assert (await client.get(f"{POSTS}/{published.id}")).status_code == 404
        again = await client.delete(f"{POSTS}/{published.id}", headers=bearer(author))
        assert again.status_code == 404

    async def test_another_user_gets_403_on_a_published_post(
        self, client: AsyncClient, published: Post, stranger: User
    ) -> None:
        response = await client.delete(f"{POSTS}/{published.id}", headers=bearer(stranger))

        assert response.status_code == 403
        assert (await client.get(f"{POSTS}/{published.id}")).status_code == 200

    async def test_another_user_gets_404_on_a_draft(
        self, client: AsyncClient, draft: Post, author: User, stranger: User
    ) -> None:
        response = await client.delete(f"{POSTS}/{draft.id}", headers=bearer(stranger))

        assert response.status_code == 404
        assert (await client.get(f"{POSTS}/{draft.id}", headers=bearer(author))).status_code == 200

    async def test_requires_authentication(self, client: AsyncClient, published: Post) -> None:
        response = await client.delete(f"{POSTS}/{published.id}")

        assert response.status_code == 401
        assert (await client.get(f"{POSTS}/{published.id}")).status_code == 200


@pytest.mark.integration
class TestUserPosts:
    @pytest.fixture
    async def posts_of_author(self, db_session: AsyncSession, author: User, stranger: User) -> dict[str, list[int]]:
        first = await PostFactory.create(db_session, author.id, published=True)
        hidden = await PostFactory.create(db_session, author.id, published=False)
        await PostFactory.create(db_session, stranger.id, published=True)
        last = await PostFactory.create(db_session, author.id, published=True)
        return {"published": [last.id, first.id], "all": [last.id, hidden.id, first.id]}

    async def test_anonymous_sees_published_only(
        self, client: AsyncClient, author: User, posts_of_author: dict[str, list[int]]
    ) -> None:
        response = await client.get(f"/api/v1/users/{author.id}/posts")

        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == posts_of_author["published"]

    async def test_another_user_sees_published_only(
        self, client: AsyncClient, author: User, stranger: User, posts_of_author: dict[str, list[int]]
    ) -> None:
        response = await client.get(f"/api/v1/users/{author.id}/posts", headers=bearer(stranger))

        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == posts_of_author["published"]

    async def test_owner_sees_drafts_too(
        self, client: AsyncClient, author: User, posts_of_author: dict[str, list[int]]
    ) -> None:
        response = await client.get(f"/api/v1/users/{author.id}/posts", headers=bearer(author))

        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == posts_of_author["all"]

    async def test_pages(self, client: AsyncClient, author: User, posts_of_author: dict[str, list[int]]) -> None:
        response = await client.get(
            f"/api/v1/users/{author.id}/posts", params={"limit": 1, "offset": 1}, headers=bearer(author)
        )

        assert response.status_code == 200
        body = response.json()
        assert [item["id"] for item in body["items"]] == posts_of_author["all"][1:2]
        assert body["next_offset"] == 2

    async def test_unknown_user_is_404(self, client: AsyncClient) -> None:
        response = await client.get(f"/api/v1/users/{MAX_INT_ID}/posts")

        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"

    async def test_limit_above_100_is_422(self, client: AsyncClient, author: User) -> None:
        response = await client.get(f"/api/v1/users/{author.id}/posts", params={"limit": 101})

        assert response.status_code == 422
