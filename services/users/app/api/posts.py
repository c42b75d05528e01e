from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import OPTIONAL_BEARER_OPENAPI, OptionalUser, PostServiceDep, ReadDbDep, SignedIn
from app.api.errors import error_responses
from app.repositories.post_queries import PostQueries
from app.schemas.common import MAX_INT_ID, EntityId
from app.schemas.post import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PostCreate, PostPage, PostResponse, PostUpdate

router = APIRouter(prefix="/posts", tags=["posts"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT_ID)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 401, 422))
async def create_post(data: PostCreate, author: SignedIn, posts: PostServiceDep) -> PostResponse:
    return PostResponse.model_validate(await posts.create_post(author, data))


@router.get("", responses=error_responses(422))
async def list_posts(read_db: ReadDbDep, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> PostPage:
    # A hot public read: on the read side, as GET /users/{id} is.
    items = await PostQueries(read_db).published_page(limit=limit, offset=offset)
    return PostPage.build(items, limit=limit, offset=offset)


@router.get("/{post_id}", responses=error_responses(401, 404, 422), openapi_extra=OPTIONAL_BEARER_OPENAPI)
async def read_post(post_id: EntityId, viewer: OptionalUser, posts: PostServiceDep) -> PostResponse:
    return PostResponse.model_validate(await posts.get_visible_post(post_id, viewer))


@router.patch("/{post_id}", responses=error_responses(400, 401, 403, 404, 422))
async def update_post(post_id: EntityId, data: PostUpdate, author: SignedIn, posts: PostServiceDep) -> PostResponse:
    return PostResponse.model_validate(await posts.update_post(author, post_id, data))


@router.delete("/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 404, 422))
async def delete_post(post_id: EntityId, author: SignedIn, posts: PostServiceDep) -> None:
    await posts.delete_post(author, post_id)
