"""API fuzzing from the OpenAPI document: every answer of the orders service is one it documents.

Schemathesis generates requests (valid and invalid) from the document the app publishes, sends
them over real HTTP to the app served by uvicorn on this worker's PostgreSQL, and checks each
response: never a 5xx, a documented status, the documented content type and body. The users
service is faked at the HTTP boundary (respx) and knows the caller's token, so every operation
is fuzzed past authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis

from app.main import app, create_app
from servicekit.testing.fuzz import FUZZ_SETTINGS, empty_tables, fuzz_config
from servicekit.testing.live_server import serve_in_thread
from tests.conftest import TRUNCATE_ALL_TABLES
from tests.support.users_service import FakeUsersService

#: Schema-valid input may still be refused with 422: rules JSON Schema cannot state (a unit price
#: with more than two decimal places, an Idempotency-Key reused with another body).
FUZZ_CONFIG = fuzz_config()

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


@pytest.fixture
def fuzz_target(users_service: FakeUsersService, database_url: str) -> Iterator[FuzzTarget]:
    """The app over real HTTP on this worker's database, committing for real (emptied afterwards)."""
    _, token = users_service.add_user()
    try:
        with serve_in_thread(create_app()) as base_url, requests.Session() as http:
            yield FuzzTarget(base_url, http, token)
    finally:
        empty_tables(database_url, TRUNCATE_ALL_TABLES)


@pytest.mark.integration
@schema.parametrize()
@FUZZ_SETTINGS
def test_operation(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    fuzz_target.call_and_validate(case)
