from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.schemas.common import RequestModel, ResponseModel, TextValue

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

Title = Annotated[TextValue, Field(min_length=1, max_length=200)]
Content = Annotated[TextValue, Field(min_length=1, max_length=100_000)]


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _omittable() -> Any:
    """Optional but never null, and documented so: no ``null`` type and no ``null`` default."""
    return Field(default=None, json_schema_extra=_without_default)


class PostCreate(RequestModel):
    title: Title
    content: Content
    #: Strict: JSON has booleans; 0, 1 or "yes" are refused, not read as true or false.
    published: StrictBool = False


class PostUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    title: Title | SkipJsonSchema[None] = _omittable()
    content: Content | SkipJsonSchema[None] = _omittable()
    published: StrictBool | SkipJsonSchema[None] = _omittable()

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
