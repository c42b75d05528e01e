"""Building blocks shared by every schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator

#: Largest value of a PostgreSQL ``bigint`` column: ids beyond it can only be "not found".
MAX_INT_ID = 9_223_372_036_854_775_807


def _decimal_digits(value: object) -> object:
    # "1.0", "+1", " 1" and "1_0" are not ids, however lax int parsing would read them.
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        msg = "must be a decimal integer"
        raise ValueError(msg)
    return value


#: An id in a path: plain decimal digits within the range of an ``bigint`` column.
EntityId = Annotated[int, BeforeValidator(_decimal_digits), Path(ge=1, le=MAX_INT_ID)]
