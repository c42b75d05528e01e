"""Provider side: the real users service honours every contract its consumers committed.

The service runs for real: uvicorn serves a freshly built app over HTTP on 127.0.0.1, with its
own engine on this xdist worker's database. Pact replays every interaction of every pact in
``<repo>/pacts/`` against it and checks the responses against the contract's matching rules.

Before each interaction the verifier asks :class:`ProviderStates` to set the interaction's
provider state up (with its parameters, e.g. the user's id), and after it to tear it down,
through the Verifier's URL state-handler mechanism (``tests.support.pact_states``). Those calls
arrive on the state server's thread while the test's thread is blocked in the verifier, so each
one commits through a short-lived engine of its own under ``asyncio.run``. Every state starts
from empty tables; teardown (and the fixture, whatever happens) truncates them again.

Access tokens in a pact are placeholders (``valid-access-token``): no real secret goes into a
contract. The state set-up issues a real token for the placeholder, and :class:`PlaceholderTokens`
(an ASGI wrapper in front of the app, this test's only addition to the service) swaps it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pact import Verifier
from sqlalchemy import Executable, func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.main import create_app
from app.models.token import RevokedAccessToken
from app.models.user import User
from app.utils.jwt import create_access_token, decode_access_token
from servicekit.testing.live_server import serve_in_thread
from tests.contract.contracts import PACTS_DIR, PROVIDER
from tests.support.databases import TRUNCATE_ALL_TABLES
from tests.support.pact_states import StateChangeServer

pytestmark = pytest.mark.contract

COMMITTED_PACTS = sorted(PACTS_DIR.glob(f"*-{PROVIDER}.json"))


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


class PlaceholderTokens:
    """Replaces a pact's placeholder bearer token with the real token its provider state issued."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.real_tokens: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = dict(scope, headers=[self._swap(name, value) for name, value in scope["headers"]])
        await self.app(scope, receive, send)

    def _swap(self, name: bytes, value: bytes) -> tuple[bytes, bytes]:
        if name != b"authorization" or not value.startswith(b"Bearer "):
            return name, value
        presented = value.removeprefix(b"Bearer ").decode("latin-1")
        real = self.real_tokens.get(presented, presented)
        return name, f"Bearer {real}".encode("latin-1")


class ProviderStates:
    """Pact's state handler: puts the database into the state an interaction is given."""

    def __init__(self, database_url: str, tokens: PlaceholderTokens) -> None:
        self.database_url = database_url
        self.tokens = tokens
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, state: str, action: str, parameters: dict[str, Any]) -> None:
        self.calls.append((state, action, parameters))
        if action == "teardown":
            self.reset()
            return
        setups = {
            "a user exists": self.a_user_exists,
            "no user exists": self.no_user_exists,
            "a user has a valid access token": self.a_user_has_a_valid_access_token,
            "an access token was revoked": self.an_access_token_was_revoked,
            # Pact's generic set-up call, made for interactions without a provider state.
            "": self.no_user_exists,
        }
        if state not in setups:
            msg = f"unknown provider state {state!r}"
            raise LookupError(msg)
        setups[state](parameters)

    def reset(self) -> None:
        self.tokens.real_tokens.clear()
        _execute(self.database_url, TRUNCATE_ALL_TABLES)

    def no_user_exists(self, _parameters: dict[str, Any]) -> None:
        self.reset()

    def a_user_exists(self, parameters: dict[str, Any]) -> None:
        user_id = int(parameters["id"])
        user = insert(User).values(
            id=user_id,
            email=f"user{user_id}@example.com",
            username=f"user{user_id}",
            hashed_password="not-a-usable-hash",
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        # The id was given explicitly: move the sequence past it so later inserts do not collide.
        sequence_past_max_id = select(func.setval(func.pg_get_serial_sequence("users", "id"), func.max(User.id)))
        self.reset()
        _execute(self.database_url, user, sequence_past_max_id)

    def a_user_has_a_valid_access_token(self, parameters: dict[str, Any]) -> None:
        self.a_user_exists(parameters)
        self.tokens.real_tokens[str(parameters["token"])] = create_access_token({"sub": str(parameters["id"])})

    def an_access_token_was_revoked(self, parameters: dict[str, Any]) -> None:
        """A real token of an existing user, then revoked (as logout does)."""
        self.a_user_exists({"id": 1})
        token = create_access_token({"sub": "1"})
        claims = decode_access_token(token)
        _execute(self.database_url, insert(RevokedAccessToken).values(jti=claims.jti, expires_at=claims.expires_at))
        self.tokens.real_tokens[str(parameters["token"])] = token


def _interactions(pact: Path) -> list[dict[str, Any]]:
    interactions: list[dict[str, Any]] = json.loads(pact.read_text(encoding="utf-8"))["interactions"]
    return interactions


@pytest.fixture
def provider(database_url: str) -> Iterator[tuple[str, ProviderStates]]:
    """The real service over HTTP on this worker's database, and its provider-state handler."""
    assert os.environ["DATABASE_URL"] == database_url
    tokens = PlaceholderTokens(create_app())
    states = ProviderStates(database_url, tokens)
    try:
        with serve_in_thread(tokens) as url:
            yield url, states
    finally:
        states.reset()


def verify(pact: Path, provider_url: str, states: ProviderStates) -> tuple[Verifier, list[Exception]]:
    """Replay ``pact`` against the provider; the verifier (results, output) and state errors."""
    with StateChangeServer(states) as state_changes:
        verifier = (
            Verifier(PROVIDER, host="127.0.0.1")
            .add_transport(url=provider_url)
            .add_source(pact)
            .state_handler(state_changes.url, teardown=True, body=True)
            .set_coloured_output(enabled=False)
        )
        # A failed verification raises; its results say which interaction failed, and each test
        # decides what it expects.
        with contextlib.suppress(RuntimeError):
            verifier.verify()
        return verifier, list(state_changes.errors)


class TestProviderVerification:
    def test_there_is_a_pact_to_verify(self) -> None:
        assert COMMITTED_PACTS, f"no pact for {PROVIDER} in {PACTS_DIR}"

    @pytest.mark.parametrize("pact", COMMITTED_PACTS, ids=lambda path: path.stem)
    def test_users_service_honours_the_contract(self, pact: Path, provider: tuple[str, ProviderStates]) -> None:
        provider_url, states = provider

        verifier, state_errors = verify(pact, provider_url, states)

        results = verifier.results
        assert results["result"] is True, verifier.output(strip_ansi=True)
        assert {result["description"]: result["result"] for result in results["interactionResults"]} == {
            interaction["description"]: "OK" for interaction in _interactions(pact)
        }
        assert state_errors == []
        expected_states = {state["name"] for i in _interactions(pact) for state in i.get("providerStates", [])}
        assert {state for state, action, _ in states.calls if action == "setup"} == expected_states

    def test_verification_fails_on_a_field_the_service_does_not_send(
        self, provider: tuple[str, ProviderStates], tmp_path: Path
    ) -> None:
        """The contract is not a rubber stamp: a consumer expecting a field the users service does
        not send makes verification fail, and the failure names the interaction."""
        provider_url, states = provider
        pact = json.loads(COMMITTED_PACTS[0].read_text(encoding="utf-8"))
        broken = copy.deepcopy(next(i for i in pact["interactions"] if i["response"]["status"] == 200))
        broken["description"] = f"an interaction expecting a nickname {uuid.uuid4().hex[:8]}"
        broken["response"]["body"]["content"]["nickname"] = "neo"
        pact["interactions"] = [broken]
        broken_pact = tmp_path / f"Broken-{PROVIDER}.json"
        broken_pact.write_text(json.dumps(pact), encoding="utf-8")

        verifier, _ = verify(broken_pact, provider_url, states)

        assert verifier.results["result"] is False
        failed = [r["description"] for r in verifier.results["interactionResults"] if r["result"] != "OK"]
        assert failed == [broken["description"]]
        assert "nickname" in verifier.output(strip_ansi=True)
