"""Building blocks shared by every schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

#: Largest value of a PostgreSQL ``integer`` column: ids beyond it can only be "not found".
MAX_INT_ID = 2_147_483_647


def _reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here instead of failing in the database.
    if "\x00" in value:
        msg = "must not contain NUL characters"
        raise ValueError(msg)
    return value


TextValue = Annotated[str, AfterValidator(_reject_nul)]


class RequestModel(BaseModel):
    """Input schemas refuse unknown fields, so privileged fields cannot be smuggled in."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
