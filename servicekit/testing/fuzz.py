"""What the services' API fuzz tests (Schemathesis, from the OpenAPI document) share alike.

:func:`fuzz_config` is Schemathesis' configuration: valid and invalid inputs, the same examples on
every run, and the checks' exceptions every service needs; :data:`FUZZ_SETTINGS` bounds the
examples; :func:`empty_tables` resets a database that the app under fuzz commits to for real.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, settings
from sqlalchemy import TextClause

from servicekit.database import unpooled_engine

#: Schemathesis' list of refusals, plus 413: a body over MAX_BODY_BYTES is refused before parsing.
REFUSAL_STATUSES: list[int | str] = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]

#: Bounded: about 30 examples per operation, plus Schemathesis' explicit and boundary cases.
FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    # One server per test, shared by its examples on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fuzz_config(**service_specific: Any) -> dict[str, Any]:
    """Schemathesis' configuration of a service, its own sections (``phases``, ``operations``) added.

    Schema-valid input may still be refused with 422 (``positive_data_acceptance`` off): every
    service enforces rules JSON Schema cannot state; each says which next to its call.
    """
    return {
        # Valid and invalid inputs, the same examples on every run (Hypothesis derandomized).
        "generation": {"mode": "all", "deterministic": True, "database": "none"},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"expected-statuses": REFUSAL_STATUSES},
        },
        **service_specific,
    }


def empty_tables(database_url: str, truncate: TextClause) -> None:
    """Run ``truncate`` on ``database_url`` from a (sync) test's thread, which runs no event loop."""

    async def run() -> None:
        async with unpooled_engine(database_url) as engine, engine.begin() as connection:
            await connection.execute(truncate)

    asyncio.run(run())
