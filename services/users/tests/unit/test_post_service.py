"""``PostService`` rules on in-memory repositories: visibility of drafts and ownership."""

from __future__ import annotations

import pytest

from app.exceptions import PermissionDeniedError, PostNotFoundError, UserNotFoundError
from app.models.post import Post
from app.models.user import User
from app.schemas.post import PostCreate, PostUpdate
from app.services.post_service import PostService
from tests.factories import UserFactory
from tests.unit.fakes import FakePostRepository, FakeUserRepository


@pytest.fixture
def users() -> FakeUserRepository:
    return FakeUserRepository()


@pytest.fixture
def posts(users: FakeUserRepository) -> FakePostRepository:
    return FakePostRepository(users)


@pytest.fixture
def service(posts: FakePostRepository, users: FakeUserRepository) -> PostService:
    return PostService(posts, users)


@pytest.fixture
async def author(users: FakeUserRepository) -> User:
    return await users.create(UserFactory.build())


@pytest.fixture
async def stranger(users: FakeUserRepository) -> User:
    return await users.create(UserFactory.build())


async def new_post(service: PostService, author: User, *, published: bool, title: str = "A title") -> Post:
    return await service.create_post(author, PostCreate(title=title, content="Some content", published=published))


@pytest.mark.unit
class TestCreatePost:
    async def test_the_post_belongs_to_its_author(
        self, service: PostService, posts: FakePostRepository, author: User
    ) -> None:
        post = await new_post(service, author, published=True, title="Mine")

        assert post.user_id == author.id
        assert post.title == "Mine"
        assert post.published is True
        assert posts.posts[post.id] is post

    async def test_is_a_draft_unless_published(self, service: PostService, author: User) -> None:
        post = await service.create_post(author, PostCreate(title="t", content="c"))

        assert post.published is False


@pytest.mark.unit
class TestVisibility:
    async def test_published_post_is_visible_to_anyone(
        self, service: PostService, author: User, stranger: User
    ) -> None:
        post = await new_post(service, author, published=True)

        assert await service.get_visible_post(post.id, None) is post
        assert await service.get_visible_post(post.id, stranger) is post
        assert await service.get_visible_post(post.id, author) is post

    async def test_draft_is_visible_to_its_author(self, service: PostService, author: User) -> None:
        post = await new_post(service, author, published=False)

        assert await service.get_visible_post(post.id, author) is post

    @pytest.mark.parametrize("viewer_kind", ["anonymous", "stranger"])
    async def test_draft_is_not_found_for_anyone_else(
        self, service: PostService, author: User, stranger: User, viewer_kind: str
    ) -> None:
        post = await new_post(service, author, published=False)
        viewer = stranger if viewer_kind == "stranger" else None

        with pytest.raises(PostNotFoundError):
            await service.get_visible_post(post.id, viewer)

    async def test_missing_post_is_not_found(self, service: PostService, author: User) -> None:
        with pytest.raises(PostNotFoundError):
            await service.get_visible_post(12345, author)


@pytest.mark.unit
class TestOwnership:
    async def test_author_updates_only_the_given_fields(self, service: PostService, author: User) -> None:
        post = await new_post(service, author, published=False, title="Before")

        updated = await service.update_post(author, post.id, PostUpdate(published=True))

        assert updated.published is True
        assert updated.title == "Before"
        assert updated.content == "Some content"

    async def test_stranger_cannot_update_a_published_post(
        self, service: PostService, author: User, stranger: User
    ) -> None:
        post = await new_post(service, author, published=True, title="Original")

        with pytest.raises(PermissionDeniedError):
            await service.update_post(stranger, post.id, PostUpdate(title="Hijacked"))

        assert post.title == "Original"

    async def test_stranger_updating_a_draft_gets_not_found(
        self, service: PostService, author: User, stranger: User
    ) -> None:
        post = await new_post(service, author, published=False, title="Original")

        with pytest.raises(PostNotFoundError):
            await service.update_post(stranger, post.id, PostUpdate(title="Hijacked"))

        assert post.title == "Original"

    async def test_author_deletes(self, service: PostService, posts: FakePostRepository, author: User) -> None:
        post = await new_post(service, author, published=True)

        await service.delete_post(author, post.id)

        assert post.id not in posts.posts
        with pytest.raises(PostNotFoundError):
            await service.get_visible_post(post.id, author)

    async def test_stranger_cannot_delete_a_published_post(
        self, service: PostService, posts: FakePostRepository, author: User, stranger: User
    ) -> None:
        post = await new_post(service, author, published=True)

        with pytest.raises(PermissionDeniedError):
            await service.delete_post(stranger, post.id)

        assert post.id in posts.posts

    async def test_stranger_deleting_a_draft_gets_not_found(
        self, service: PostService, posts: FakePostRepository, author: User, stranger: User
    ) -> None:
        post = await new_post(service, author, published=False)

        with pytest.raises(PostNotFoundError):
            await service.delete_post(stranger, post.id)

        assert post.id in posts.posts

    async def test_deleting_a_missing_post_is_not_found(self, service: PostService, author: User) -> None:
        with pytest.raises(PostNotFoundError):
            await service.delete_post(author, 999)


@pytest.mark.unit
class TestListing:
    async def test_owner_sees_own_drafts(self, service: PostService, author: User) -> None:
        draft = await new_post(service, author, published=False)
        public = await new_post(service, author, published=True)

        listed = await service.list_user_posts(author.id, author, limit=10, offset=0)

        assert [post.id for post in listed] == [public.id, draft.id]

    @pytest.mark.parametrize("viewer_kind", ["anonymous", "stranger"])
    async def test_others_see_published_only(
        self, service: PostService, author: User, stranger: User, viewer_kind: str
    ) -> None:
        await new_post(service, author, published=False)
        public = await new_post(service, author, published=True)
        await new_post(service, stranger, published=True)
        viewer = stranger if viewer_kind == "stranger" else None

        listed = await service.list_user_posts(author.id, viewer, limit=10, offset=0)

        assert [post.id for post in listed] == [public.id]

    async def test_unknown_user_is_not_found(self, service: PostService, author: User) -> None:
        with pytest.raises(UserNotFoundError):
            await service.list_user_posts(author.id + 100, author, limit=10, offset=0)


@pytest.mark.unit
class TestDeactivatedAuthors:
    """A deactivated account vanishes: its posts are "not found" as its profile is."""

    async def test_their_published_post_is_not_found_by_anyone(
        self, service: PostService, author: User, stranger: User
    ) -> None:
        post = await new_post(service, author, published=True)
        author.is_active = False

        for viewer in (None, stranger, author):
            with pytest.raises(PostNotFoundError):
                await service.get_visible_post(post.id, viewer)

    async def test_reactivation_brings_them_back(self, service: PostService, author: User) -> None:
        post = await new_post(service, author, published=True)
        author.is_active = False
        with pytest.raises(PostNotFoundError):
            await service.get_visible_post(post.id, None)

        author.is_active = True

        assert await service.get_visible_post(post.id, None) is post
