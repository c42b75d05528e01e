"""Provider side: the real users service honours the contract OrderService committed.

The service runs for real: uvicorn serves a freshly built app over HTTP on 127.0.0.1, with its
own engine on this xdist worker's database (``DATABASE_URL``). Pact replays every interaction of
``<repo>/pacts/OrderService-UserService.json`` against it and checks the responses against the
contract's matching rules.

Before each interaction the verifier asks :class:`ProviderStates` to set the interaction's
provider state up, and after it to tear it down, through the Verifier's URL state-handler
mechanism (``tests.support.pact_states``). Those calls arrive on the state server's thread while
the test's thread is blocked in the verifier, so each one commits through a short-lived engine
of its own under ``asyncio.run``. Every state starts from empty tables; teardown (and the
fixture, whatever happens) truncates them again, so nothing committed here outlives the test.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pact import Verifier
from sqlalchemy import Executable, func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.main import create_app
from app.models.user import User
from app.utils.password import hash_password
from tests.contract.contracts import COMMITTED_PACT, PROVIDER
from tests.support.databases import TRUNCATE_ALL_TABLES
from tests.support.live_server import serve_in_thread
from tests.support.pact_states import StateChangeServer

pytestmark = pytest.mark.contract


def _execute(database_url: str, *statements: Executable) -> None:
    """Run ``statements`` in one committed transaction, from any thread without a running loop."""

    async def run() -> None:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.execute(statement)
        finally:
            await engine.dispose()

    asyncio.run(run())


class ProviderStates:
    """Pact's state handler: puts the database into the state an interaction is given."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.calls: list[tuple[str, str]] = []

    def __call__(self, state: str, action: str, parameters: dict[str, Any]) -> None:
        self.calls.append((state, action))
        if action == "teardown":
            self.reset()
            return
        setups = {
            "user with id 1 exists": self.user_with_id_1_exists,
            "user service is available": self.reset,
            # Pact's generic set-up call, made for interactions without a provider state.
            "": self.reset,
        }
        if state not in setups:
            msg = f"unknown provider state {state!r}"
            raise LookupError(msg)
        setups[state]()

    def reset(self) -> None:
        _execute(self.database_url, TRUNCATE_ALL_TABLES)

    def user_with_id_1_exists(self) -> None:
        user = insert(User).values(
            id=1,
            email="user@example.com",
            username="username",
            hashed_password=hash_password("SecurePass123!"),
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        # The id was given explicitly: move the sequence past it so later inserts do not collide.
        sequence_past_max_id = select(func.setval(func.pg_get_serial_sequence("users", "id"), func.max(User.id)))
        _execute(self.database_url, TRUNCATE_ALL_TABLES, user, sequence_past_max_id)


def _committed_interactions() -> list[dict[str, Any]]:
    interactions: list[dict[str, Any]] = json.loads(COMMITTED_PACT.read_text(encoding="utf-8"))["interactions"]
    return interactions


@pytest.fixture
def provider_states(database_url: str) -> Iterator[ProviderStates]:
    states = ProviderStates(database_url)
    try:
        yield states
    finally:
        states.reset()


@pytest.fixture
def provider_url(database_url: str, provider_states: ProviderStates) -> Iterator[str]:
    """The real service over HTTP, on this worker's database."""
    assert os.environ["DATABASE_URL"] == database_url
    with serve_in_thread(create_app()) as url:
        yield url


class TestProviderVerification:
    def test_users_service_honours_order_service_contract(
        self, provider_url: str, provider_states: ProviderStates
    ) -> None:
        with StateChangeServer(provider_states) as state_changes:
            verifier = (
                Verifier(PROVIDER, host="127.0.0.1")
                .add_transport(url=provider_url)
                .add_source(COMMITTED_PACT)
                .state_handler(state_changes.url, teardown=True, body=True)
                .set_coloured_output(enabled=False)
            )

            try:
                verifier.verify()
            except RuntimeError:
                pytest.fail(
                    f"the users service breaks the contract:\n{verifier.output(strip_ansi=True)}\n"
                    f"provider state errors: {state_changes.errors!r}"
                )

        results = verifier.results
        assert results["result"] is True, verifier.output(strip_ansi=True)
        assert {result["description"]: result["result"] for result in results["interactionResults"]} == {
            interaction["description"]: "OK" for interaction in _committed_interactions()
        }
        assert state_changes.errors == []
        assert set(provider_states.calls) >= {
            ("user with id 1 exists", "setup"),
            ("user service is available", "setup"),
            ("user service is available", "teardown"),
        }
