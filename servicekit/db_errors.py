"""What a database error means for the caller, read from its SQLSTATE.

Errors reach the service either wrapped by SQLAlchemy (``DBAPIError``, the driver's error in
``orig``/``__cause__``) or straight from asyncpg (the read side talks to the driver).
"""

from __future__ import annotations

from typing import Literal

import asyncpg

#: SQLSTATE classes that mean "the database cannot serve now": connection exception,
#: insufficient resources, operator intervention (shutting down, starting up, terminated).
_UNAVAILABLE_CLASSES = ("08", "53", "57")
#: Serialization failure and deadlock: a concurrent request won; the client may retry.
_CONFLICTS = frozenset({"40001", "40P01"})

Meaning = Literal["unavailable", "conflict"]

#: What asyncpg raises when the connection itself is lost or left unusable: a vanished socket or
#: timeout (OSError), a closed connection, or a protocol left mid-operation by a killed backend
#: ("cannot switch to state ...": InternalClientError).
DRIVER_CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of ``error`` or of the driver error it wraps, if any."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return None
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def meaning(error: BaseException) -> Meaning | None:
    code = sqlstate(error)
    if code is None:
        return None
    if code in _CONFLICTS:
        return "conflict"
    if code[:2] in _UNAVAILABLE_CLASSES:
        return "unavailable"
    return None


def is_disconnect(error: BaseException) -> bool:
    """Whether the connection that raised ``error`` should not be used again."""
    return isinstance(error, DRIVER_CONNECTION_ERRORS) or meaning(error) == "unavailable"
