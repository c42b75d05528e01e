from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import (
    OPTIONAL_BEARER_OPENAPI,
    AccountServiceDep,
    ClientAddress,
    CurrentClaims,
    CurrentUser,
    OptionalUser,
    PostServiceDep,
    ProfileServiceDep,
    ReadDbDep,
    SignedIn,
)
from app.api.errors import error_responses
from app.repositories.token_queries import SignedInUser
from app.repositories.user_repository import PublicProfile, UserQueries
from app.schemas.auth import MessageResponse
from app.schemas.common import MAX_INT_ID, EntityId
from app.schemas.post import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PostPage
from app.schemas.user import (
    AccountDeletion,
    PasswordChange,
    UserCreate,
    UserPrivateResponse,
    UserResponse,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT_ID)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 409, 422, 429))
async def register_user(user_data: UserCreate, client: ClientAddress, accounts: AccountServiceDep) -> UserResponse:
    """Create an unverified account and email a verification link to it."""
    user = await accounts.register(user_data, client)
    return UserResponse.model_validate(user)


@router.get("/me", response_model=UserPrivateResponse, responses=error_responses(401))
async def read_me(me: SignedIn) -> SignedInUser:
    # Hot (the orders service asks it per request): the token check's row, validated once, by the response model.
    return me


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(400, 401, 403, 422, 429))
async def delete_me(body: AccountDeletion, me: SignedIn, accounts: AccountServiceDep) -> None:
    """Delete the caller's account for good (hard delete: its posts, sessions and tokens go too);
    the current password is checked and throttled like a login."""
    await accounts.delete_account(me, body.current_password)


@router.post("/me/password", responses=error_responses(400, 401, 403, 422, 429))
async def change_password(
    body: PasswordChange, me: SignedIn, claims: CurrentClaims, accounts: AccountServiceDep
) -> MessageResponse:
    """Change the caller's password (the current one is checked and throttled like a login); every
    other session of the account ends, the caller's stays."""
    await accounts.change_password(me, body.current_password, body.new_password, claims.session_id)
    return MessageResponse(detail="Password changed")


@router.get("/{user_id}", response_model=UserResponse, responses=error_responses(404, 422))
async def read_user(user_id: EntityId, read_db: ReadDbDep) -> PublicProfile:
    # The hot read: one dependency, and validated once, by the response model.
    return await UserQueries(read_db).require_public_profile(user_id)


@router.patch("/{user_id}", responses=error_responses(400, 401, 403, 409, 422, 429))
async def update_user(
    user_id: EntityId,
    user_data: UserUpdate,
    current_user: CurrentUser,
    claims: CurrentClaims,
    profiles: ProfileServiceDep,
) -> UserPrivateResponse:
    user = await profiles.update_own_profile(current_user, user_id, user_data, claims.session_id)
    return UserPrivateResponse.model_validate(user)


@router.get("/{user_id}/posts", responses=error_responses(401, 404, 422), openapi_extra=OPTIONAL_BEARER_OPENAPI)
async def list_user_posts(
    user_id: EntityId,
    viewer: OptionalUser,
    posts: PostServiceDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> PostPage:
    items = await posts.list_user_posts(user_id, viewer, limit=limit, offset=offset)
    return PostPage.build(items, limit=limit, offset=offset)
