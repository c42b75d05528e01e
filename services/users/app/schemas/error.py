from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    """Body of every error response."""

    detail: str = Field(description="Human-readable explanation")
    code: str = Field(description="Stable machine-readable error code", examples=["user_already_exists"])
    request_id: str | None = Field(default=None, description="Correlates the response with server logs")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Per-field problems of a 422")
