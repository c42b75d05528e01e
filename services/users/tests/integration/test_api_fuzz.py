"""API fuzzing from the OpenAPI document: every answer of the service is one its document gives.

Schemathesis generates requests from the document the app publishes (valid ones and invalid
ones), sends them over real HTTP to the app served by uvicorn on this worker's PostgreSQL, and
checks each response: never a 5xx, the status documented for the operation, the content type and
body that status documents, and more (see ``tests.support.fuzz.FUZZ_CONFIG``). So the document
stays true: when the service answers something the document does not list, one of them is wrong.

- ``test_operation`` fuzzes each operation on its own (one pytest test per operation).
- ``test_stateful_workflows`` chains operations through OpenAPI links (register -> log in ->
  refresh, create a post -> read, update, delete it...) and proves every operation answered
  a success at least once, so the fuzzing reaches past validation into every handler.

Reproducible: Hypothesis derives the examples from each test itself (``derandomize``), whatever
seed pytest-randomly uses; each test starts on empty tables and a fresh app (fresh throttle).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis

from app.config import Settings
from app.utils.password import reset_password_hasher_cache
from tests.support.fuzz import (
    FUZZ_SETTINGS,
    STATEFUL_SETTINGS,
    FuzzTarget,
    fuzz_schema,
    run_workflows,
    running_target,
)
from tests.support.smtp import RecordingHandler

schema = fuzz_schema()


@pytest.fixture
def fuzz_target(database_url: str, smtp_server: RecordingHandler, mock_settings: Settings) -> Iterator[FuzzTarget]:
    """The app over real HTTP on this worker's database, committing for real (emptied afterwards).

    argon2 is made cheap (its parameters, not the algorithm): registration and login hash a
    password on every call, and hashing cost is not what is under test here.
    """
    mock_settings.argon2_memory_cost_kib = 64
    mock_settings.argon2_time_cost = 1
    reset_password_hasher_cache()
    try:
        with running_target(database_url) as target:
            yield target
    finally:
        reset_password_hasher_cache()


@pytest.mark.integration
@schema.parametrize()
@FUZZ_SETTINGS
def test_operation(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    fuzz_target.call_and_validate(case)


@pytest.mark.integration
def test_stateful_workflows(fuzz_target: FuzzTarget) -> None:
    """Chains of operations through the document's links: every response passes every check.

    Which links a run follows depends on how long each step takes (Schemathesis's choices are
    derandomized but not timing-independent), so the test asserts only what holds in every run:
    no check failed. Reaching every operation's success path is the job of the API tests.
    """
    run_workflows(schema, fuzz_target, STATEFUL_SETTINGS)
