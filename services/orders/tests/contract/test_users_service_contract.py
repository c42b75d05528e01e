"""Consumer side of the OrderService -> UserService contract (Pact specification V4).

The production users client (``app.clients.users``) runs against Pact's mock server for every
call it makes: a user that exists, a user that does not, the current user of a valid token, and
a token the users service refuses. Responses are described with matchers (types and patterns),
not literal values, except for what the client branches on (``code == "user_not_found"``).
Provider states carry their parameters (the user's id, the token), so the provider's state
handler can create exactly that user and make that placeholder token valid: no real secret is
in the contract.

The contract is committed at ``<repo>/pacts/OrderService-UserService.json``;
``test_committed_contract_is_current`` fails when the generated contract and the committed file
differ. After an intended change, regenerate it with::

    cd services/orders && PACT_UPDATE=1 ../../.venv/bin/pytest -q tests/contract

then run the provider verification (``services/users/tests/contract/``) and commit both.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pact import Pact, match

from app.clients.users import RemoteUser, UsersClient, create_users_client
from app.config import Settings
from app.exceptions import NotAuthenticatedError, UserNotFoundError

pytestmark = pytest.mark.contract

PACTS_DIR = Path(__file__).resolve().parents[4] / "pacts"
CONSUMER = "OrderService"
PROVIDER = "UserService"
COMMITTED_PACT = PACTS_DIR / f"{CONSUMER}-{PROVIDER}.json"
JSON = "application/json"

EXISTING_USER_ID = 42
MISSING_USER_ID = 999999
#: Placeholders: the provider's state set-up issues (or revokes) a token and maps it to these.
VALID_TOKEN = "valid-access-token"
REVOKED_TOKEN = "revoked-access-token"
BEARER = r"^Bearer [A-Za-z0-9._~+/=-]+$"


def new_pact() -> Pact:
    return Pact(CONSUMER, PROVIDER).with_specification("V4")


def expect_existing_user(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for a user that exists")
        .given("a user exists", id=EXISTING_USER_ID)
        .with_request("GET", f"/api/v1/users/{EXISTING_USER_ID}")
        .will_respond_with(200)
        .with_body({"id": match.int(EXISTING_USER_ID)}, content_type=JSON)
    )


def expect_missing_user(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for a user that does not exist")
        .given("no user exists", id=MISSING_USER_ID)
        .with_request("GET", f"/api/v1/users/{MISSING_USER_ID}")
        .will_respond_with(404)
        .with_body({"detail": match.str("User not found"), "code": "user_not_found"}, content_type=JSON)
    )


def expect_current_user(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the current user with a valid token")
        .given("a user has a valid access token", id=EXISTING_USER_ID, token=VALID_TOKEN)
        .with_request("GET", "/api/v1/users/me")
        .with_header("Authorization", match.regex(f"Bearer {VALID_TOKEN}", regex=BEARER))
        .will_respond_with(200)
        .with_body({"id": match.int(EXISTING_USER_ID)}, content_type=JSON)
    )


def expect_refused_token(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the current user with a revoked token")
        .given("an access token was revoked", token=REVOKED_TOKEN)
        .with_request("GET", "/api/v1/users/me")
        .with_header("Authorization", match.regex(f"Bearer {REVOKED_TOKEN}", regex=BEARER))
        .will_respond_with(401)
        .with_body(
            {"detail": match.str("Invalid or expired token"), "code": match.str("invalid_token")}, content_type=JSON
        )
    )


async def fetch_existing_user(client: UsersClient) -> None:
    assert await client.get_user(EXISTING_USER_ID) == RemoteUser(id=EXISTING_USER_ID)


async def fetch_missing_user(client: UsersClient) -> None:
    with pytest.raises(UserNotFoundError) as raised:
        await client.get_user(MISSING_USER_ID)
    assert raised.value.user_id == MISSING_USER_ID


async def identify_caller(client: UsersClient) -> None:
    assert await client.current_user(VALID_TOKEN) == RemoteUser(id=EXISTING_USER_ID)


async def refuse_caller(client: UsersClient) -> None:
    with pytest.raises(NotAuthenticatedError):
        await client.current_user(REVOKED_TOKEN)


Expectation = Callable[[Pact], None]
Exercise = Callable[[UsersClient], Any]
INTERACTIONS: list[tuple[Expectation, Exercise]] = [
    (expect_existing_user, fetch_existing_user),
    (expect_missing_user, fetch_missing_user),
    (expect_current_user, identify_caller),
    (expect_refused_token, refuse_caller),
]


def client_settings(url: str) -> Settings:
    """The production client against the mock server, without retries (one request each)."""
    return Settings(users_service_url=url, users_retry_attempts=1)


async def verify_interaction(expect: Expectation, exercise: Exercise) -> Pact:
    """A pact of one interaction, exercised by the production client (mismatches fail the test).

    One mock server per interaction: the two requests to ``/users/me`` differ only by the token,
    which the contract matches by pattern, so one server holding both could not tell them apart.
    """
    pact = new_pact()
    expect(pact)
    with pact.serve() as server:
        client = create_users_client(client_settings(str(server.url)))
        try:
            await exercise(client)
        finally:
            await client.aclose()
    return pact


@pytest.mark.parametrize(("expect", "exercise"), INTERACTIONS, ids=lambda f: getattr(f, "__name__", ""))
async def test_interaction(expect: Expectation, exercise: Exercise) -> None:
    await verify_interaction(expect, exercise)


def _comparable(pact_document: dict[str, Any]) -> dict[str, Any]:
    """The contract's content: the Pact library's versions in the metadata are left out."""
    document = json.loads(json.dumps(pact_document))
    document.get("metadata", {}).pop("pactRust", None)
    document["interactions"] = sorted(document["interactions"], key=lambda interaction: interaction["description"])
    return document


async def test_committed_contract_is_current(tmp_path: Path) -> None:
    for expect, exercise in INTERACTIONS:
        # Each verified pact is merged into the one file, as Pact does across a test run.
        (await verify_interaction(expect, exercise)).write_file(tmp_path, overwrite=False)

    generated = tmp_path / COMMITTED_PACT.name
    if os.environ.get("PACT_UPDATE") == "1":
        COMMITTED_PACT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(generated, COMMITTED_PACT)
    assert COMMITTED_PACT.is_file(), f"{COMMITTED_PACT} is missing: regenerate it with PACT_UPDATE=1"
    committed = json.loads(COMMITTED_PACT.read_text(encoding="utf-8"))
    assert _comparable(json.loads(generated.read_text(encoding="utf-8"))) == _comparable(committed), (
        f"{COMMITTED_PACT} differs from the contract these tests define: "
        "regenerate it with PACT_UPDATE=1 (see this module's docstring)"
    )
