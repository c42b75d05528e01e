"""API fuzzing from the OpenAPI document: every answer of the orders service is one it documents.

Schemathesis generates requests (valid and invalid) from the document the app publishes, sends
them over real HTTP to the app served by uvicorn on this worker's PostgreSQL, and checks each
response: never a 5xx, a documented status, the documented content type and body. The users
service is faked at the HTTP boundary (respx) and knows the caller's token, so every operation
is fuzzed past authentication.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.main import app, create_app
from servicekit.testing.live_server import serve_in_thread
from tests.conftest import TRUNCATE_ALL_TABLES
from tests.support.users_service import FakeUsersService

API = "/api/v1"
FUZZ_CONFIG: dict[str, Any] = {
    "generation": {"mode": "all", "deterministic": True, "database": "none"},
    "checks": {
        # Schema-valid input may still be refused with 422: rules JSON Schema cannot state (a unit
        # price with more than two decimal places, an Idempotency-Key reused with another body).
        "positive_data_acceptance": {"enabled": False},
        # Schemathesis' list of refusals, plus 413: a body over MAX_BODY_BYTES is refused before parsing.
        "negative_data_rejection": {
            "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]
        },
    },
}
FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

schema = schemathesis.openapi.from_dict(app.openapi(), config=schemathesis.Config.from_dict(FUZZ_CONFIG))


@dataclass
class FuzzTarget:
    base_url: str
    session: requests.Session
    token: str
    statuses: dict[str, list[int]] = field(default_factory=dict)

    def call_and_validate(self, case: schemathesis.Case) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if case.operation.definition.raw.get("security") else {}
        response = case.call_and_validate(base_url=self.base_url, session=self.session, headers=headers)
        self.statuses.setdefault(case.operation.label, []).append(response.status_code)


def _empty_tables(database_url: str) -> None:
    """Truncate from this (sync) test's thread, which runs no event loop."""

    async def truncate() -> None:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                await connection.execute(TRUNCATE_ALL_TABLES)
        finally:
            await engine.dispose()

    asyncio.run(truncate())


@pytest.fixture
def fuzz_target(users_service: FakeUsersService, database_url: str) -> Iterator[FuzzTarget]:
    """The app over real HTTP on this worker's database, committing for real (emptied afterwards)."""
    _, token = users_service.add_user()
    try:
        with serve_in_thread(create_app()) as base_url, requests.Session() as http:
            yield FuzzTarget(base_url, http, token)
    finally:
        _empty_tables(database_url)


@pytest.mark.integration
@schema.parametrize()
@FUZZ_SETTINGS
def test_operation(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    fuzz_target.call_and_validate(case)
