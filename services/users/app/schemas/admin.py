from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import Field, StrictBool

from app.schemas.common import RequestModel, ResponseModel


class AdminUserResponse(ResponseModel):
    """An account as superusers see it."""

    id: int
    email: str
    username: str
    is_active: bool
    is_verified: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime


class AdminUserPage(ResponseModel):
    items: list[AdminUserResponse]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, null on the last page")

    @classmethod
    def build(cls, users: Sequence[object], *, limit: int, offset: int) -> AdminUserPage:
        items = [AdminUserResponse.model_validate(user) for user in users]
        next_offset = offset + len(items) if len(items) == limit else None
        return cls(items=items, limit=limit, offset=offset, next_offset=next_offset)


class AdminUserUpdate(RequestModel):
    """What a superuser may change of an account: whether it is active. Nothing else, and
    ``is_superuser`` least of all (an unknown field is a 422)."""

    is_active: StrictBool
