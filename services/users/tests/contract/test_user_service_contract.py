"""Consumer side of the OrderService -> UserService contract (Pact specification V4).

The orders service reads users by id, treats a 404 with ``code == "user_not_found"`` as "no
such user", and registers users. Each test below drives a real httpx client, written the way
the orders service would write it, against the Pact mock server and asserts on what the client
parsed; the mock server fails the test if the client's requests differ from the contract.

The contract these tests generate is committed at ``<repo>/pacts/OrderService-UserService.json``
and verified against the real service by ``test_provider_verification.py``.
``test_committed_contract_is_current`` fails when the generated contract and the committed file
differ (ignoring the Pact library versions in the metadata), so the committed contract cannot
drift silently. After an intended change to the interactions below, regenerate it with::

    cd services/users && PACT_UPDATE=1 ../../.venv/bin/pytest -q tests/contract/test_user_service_contract.py

then run the provider verification and commit the file together with the change.

``created_at`` is matched with a regular expression rather than ``match.datetime``: Pydantic
writes a UTC timestamp as ``2024-01-01T00:00:00Z`` with six fractional digits only when the
microseconds are not zero, other offsets as ``+02:00``, and the Pact timestamp format cannot
make the fraction optional (``[.SSSSSS]`` is rejected by the Pact matcher).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pact import Pact, match

from tests.contract.contracts import COMMITTED_PACT, CONSUMER, PROVIDER

pytestmark = pytest.mark.contract

#: ISO 8601 date and time with a mandatory offset (``Z`` or ``+HH:MM``), fraction optional.
ISO_DATETIME_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
JSON = "application/json"
NEW_USER = {"email": "newuser@example.com", "username": "newuser", "password": "SecurePass123!"}
MISSING_USER_ID = 999999


# --- The consumer: how OrderService talks to UserService -------------------------------------


@dataclass(frozen=True)
class RemoteUser:
    id: int
    email: str
    username: str
    created_at: datetime


class RemoteUserNotFoundError(LookupError):
    def __init__(self, user_id: int, detail: str) -> None:
        super().__init__(f"user {user_id} not found: {detail}")
        self.user_id = user_id
        self.detail = detail


class UserServiceClient:
    """The orders service's client of the users service (what the contract protects)."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    def get_user(self, user_id: int) -> RemoteUser:
        with httpx.Client(base_url=self._base_url, timeout=10.0) as http:
            response = http.get(f"/api/v1/users/{user_id}")
        if response.status_code == httpx.codes.NOT_FOUND and response.json().get("code") == "user_not_found":
            raise RemoteUserNotFoundError(user_id, response.json()["detail"])
        response.raise_for_status()
        return _parse_user(response.json())

    def create_user(self, email: str, username: str, password: str) -> RemoteUser:
        body = {"email": email, "username": username, "password": password}
        with httpx.Client(base_url=self._base_url, timeout=10.0) as http:
            response = http.post("/api/v1/users", json=body)
        response.raise_for_status()
        return _parse_user(response.json())


def _parse_user(data: dict[str, Any]) -> RemoteUser:
    created_at = datetime.fromisoformat(data["created_at"])
    if created_at.tzinfo is None:
        msg = f"created_at without an offset: {data['created_at']!r}"
        raise ValueError(msg)
    return RemoteUser(id=int(data["id"]), email=data["email"], username=data["username"], created_at=created_at)


# --- The contract --------------------------------------------------------------------------


def new_pact() -> Pact:
    return Pact(CONSUMER, PROVIDER).with_specification("V4")


def expect_existing_user(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for user with id 1")
        .given("user with id 1 exists")
        .with_request("GET", "/api/v1/users/1")
        .will_respond_with(200)
        .with_body(
            {
                "id": match.int(1),
                "email": match.str("user@example.com"),
                "username": match.str("username"),
                "created_at": match.regex("2024-01-01T00:00:00Z", regex=ISO_DATETIME_WITH_OFFSET),
            },
            content_type=JSON,
        )
    )


def expect_user_created(pact: Pact) -> None:
    (
        pact.upon_receiving("a request to create a user")
        .given("user service is available")
        .with_request("POST", "/api/v1/users")
        .with_body(NEW_USER, content_type=JSON)
        .will_respond_with(201)
        .with_body(
            {
                "id": match.int(1),
                "email": match.str(NEW_USER["email"]),
                "username": match.str(NEW_USER["username"]),
                "created_at": match.regex("2024-01-01T00:00:00.123456+00:00", regex=ISO_DATETIME_WITH_OFFSET),
            },
            content_type=JSON,
        )
    )


def expect_missing_user(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for a user that does not exist")
        .with_request("GET", f"/api/v1/users/{MISSING_USER_ID}")
        .will_respond_with(404)
        .with_body({"detail": match.str("User not found"), "code": "user_not_found"}, content_type=JSON)
    )


# --- What the consumer does with each response -----------------------------------------------


def fetch_existing_user(client: UserServiceClient) -> None:
    user = client.get_user(1)

    assert user == RemoteUser(
        id=1, email="user@example.com", username="username", created_at=datetime(2024, 1, 1, tzinfo=UTC)
    )


def register_user(client: UserServiceClient) -> None:
    user = client.create_user(**NEW_USER)

    assert user.id == 1
    assert (user.email, user.username) == (NEW_USER["email"], NEW_USER["username"])
    assert user.created_at == datetime(2024, 1, 1, microsecond=123456, tzinfo=UTC)


def fetch_missing_user(client: UserServiceClient) -> None:
    with pytest.raises(RemoteUserNotFoundError) as raised:
        client.get_user(MISSING_USER_ID)

    assert raised.value.user_id == MISSING_USER_ID
    assert raised.value.detail == "User not found"


def _comparable(pact_document: dict[str, Any]) -> dict[str, Any]:
    """The contract's content: the Pact library's versions in the metadata are left out."""
    document = json.loads(json.dumps(pact_document))
    document.get("metadata", {}).pop("pactRust", None)
    document["interactions"] = sorted(document["interactions"], key=lambda interaction: interaction["description"])
    return document


class TestUserServiceContract:
    def test_get_user_by_id_contract(self) -> None:
        pact = new_pact()
        expect_existing_user(pact)

        with pact.serve() as server:
            fetch_existing_user(UserServiceClient(str(server.url)))

    def test_create_user_contract(self) -> None:
        pact = new_pact()
        expect_user_created(pact)

        with pact.serve() as server:
            register_user(UserServiceClient(str(server.url)))

    def test_missing_user_contract(self) -> None:
        pact = new_pact()
        expect_missing_user(pact)

        with pact.serve() as server:
            fetch_missing_user(UserServiceClient(str(server.url)))

    def test_committed_contract_is_current(self, tmp_path: Path) -> None:
        pact = new_pact()
        for expect in (expect_existing_user, expect_user_created, expect_missing_user):
            expect(pact)
        with pact.serve() as server:
            client = UserServiceClient(str(server.url))
            for exercise in (fetch_existing_user, register_user, fetch_missing_user):
                exercise(client)

        pact.write_file(tmp_path, overwrite=True)

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
