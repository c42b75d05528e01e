from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import AdminServiceDep, CurrentSuperuser, require_superuser
from app.api.errors import error_responses
from app.schemas.admin import AdminUserPage, AdminUserResponse, AdminUserUpdate
from app.schemas.common import MAX_INT_ID, EntityId, TextValue
from app.schemas.post import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

#: Every route here: 401 without a valid token, 403 for anyone but a superuser.
router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_superuser)])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT_ID)]
EmailPrefix = Annotated[TextValue | None, Query(min_length=1, max_length=254, description="Any letter case")]


@router.get("/users", responses=error_responses(401, 403, 422))
async def list_users(
    admin_service: AdminServiceDep,
    *,
    email_prefix: EmailPrefix = None,
    is_active: bool | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> AdminUserPage:
    """Every account, by id, optionally filtered (superusers only)."""
    users = await admin_service.list_users(email_prefix=email_prefix, is_active=is_active, limit=limit, offset=offset)
    return AdminUserPage.build(users, limit=limit, offset=offset)


@router.patch("/users/{user_id}", responses=error_responses(400, 401, 403, 404, 409, 422))
async def update_user(
    user_id: EntityId, body: AdminUserUpdate, admin: CurrentSuperuser, admin_service: AdminServiceDep
) -> AdminUserResponse:
    """Deactivate (every session ends at once) or reactivate an account (superusers only)."""
    return AdminUserResponse.model_validate(await admin_service.set_active(admin, user_id, is_active=body.is_active))
