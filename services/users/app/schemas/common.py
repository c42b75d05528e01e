"""Building blocks shared by every schema."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

#: Largest value of a PostgreSQL ``integer`` column: ids beyond it can only be "not found".
MAX_INT_ID = 2_147_483_647


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable_text(value: str) -> str:
    """Refuse what PostgreSQL and UTF-8 cannot hold: NUL, and lone surrogates (JSON "\\ud800")."""
    if "\x00" in value:
        msg = "must not contain NUL characters"
        raise ValueError(msg)
    if _LONE_SURROGATE.search(value):
        msg = "must be valid Unicode (no lone surrogates)"
        raise ValueError(msg)
    return value


TextValue = Annotated[str, AfterValidator(_storable_text)]


def _decimal_digits(value: object) -> object:
    # "1.0", "+1", " 1" and "1_0" are not ids, however lax int parsing would read them.
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        msg = "must be a decimal integer"
        raise ValueError(msg)
    return value


#: An id in a path: plain decimal digits within the range of an ``integer`` column. ``Path`` comes
#: first: after a validator its bounds reach OpenAPI as ``ge``/``le``, which JSON Schema ignores.
EntityId = Annotated[int, Path(ge=1, le=MAX_INT_ID), BeforeValidator(_decimal_digits)]


class RequestModel(BaseModel):
    """Input schemas refuse unknown fields, so privileged fields cannot be smuggled in."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
