from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Self

from pydantic import Field, model_validator

from app.schemas.common import RequestModel, ResponseModel, TextValue

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

Title = Annotated[TextValue, Field(min_length=1, max_length=200)]
Content = Annotated[TextValue, Field(min_length=1, max_length=100_000)]


class PostCreate(RequestModel):
    title: Title
    content: Content
    published: bool = False


class PostUpdate(RequestModel):
    title: Title | None = None
    content: Content | None = None
    published: bool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            msg = "at least one field must be given"
            raise ValueError(msg)
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                msg = f"{name} must not be null"
                raise ValueError(msg)
        return self


class PostResponse(ResponseModel):
    id: int
    title: str
    content: str
    user_id: int
    published: bool
    created_at: datetime
    updated_at: datetime


class PostPage(ResponseModel):
    items: list[PostResponse]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, null on the last page")

    @classmethod
    def build(cls, posts: Sequence[object], *, limit: int, offset: int) -> PostPage:
        items = [PostResponse.model_validate(post) for post in posts]
        next_offset = offset + len(items) if len(items) == limit else None
        return cls(items=items, limit=limit, offset=offset, next_offset=next_offset)
