"""Promises of the README's "What the users service guarantees" that no other test pinned down:
response headers, readiness of the throttle store, and passwords (kept as typed, hashed off the
event loop, the same cost for an unknown email). Each test breaks when the line it names is broken.
"""

from __future__ import annotations

import threading
import unicodedata
from typing import Any

import pytest
from httpx import AsyncClient
from pwdlib import PasswordHash

from app.config import get_settings
from app.models.user import User
from app.utils import password as password_module
from tests.conftest import PASSWORD
from tests.factories import unique_email
from tests.support.app_client import response_when_a_route_raises
from tests.support.auth import LOGIN, ME
from tests.support.configured import assert_unavailable, configured_app, registration

USERS = "/api/v1/users"
READY = "/api/v1/health/ready"


@pytest.mark.integration
class TestResponseHeaders:
    """Every response, success or error, is ``nosniff`` and ``no-store`` (tokens and personal data)."""

    @pytest.mark.parametrize(
        ("method", "path", "body", "status"),
        [
            ("GET", "/api/v1/health/live", None, 200),
            ("GET", "/health/ready", None, 200),
            ("POST", USERS, "registration", 201),
            ("GET", ME, None, 401),
            ("GET", "/api/v1/nowhere", None, 404),
            ("POST", USERS, {}, 422),
        ],
    )
    async def test_from_the_app(self, client: AsyncClient, method: str, path: str, body: Any, status: int) -> None:
        response = await client.request(method, path, json=registration() if body == "registration" else body)

        assert response.status_code == status
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]

    async def test_on_personal_data(self, client: AsyncClient, auth_headers: dict[str, str]) -> None:
        response = await client.get(ME, headers=auth_headers)

        assert response.status_code == 200
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]

    async def test_on_a_body_refused_before_the_app_runs(self, client: AsyncClient) -> None:
        headers = {"Content-Type": "application/json", "Content-Length": str(get_settings().max_body_bytes + 1)}

        response = await client.post(USERS, content=b"{}", headers=headers)

        assert response.status_code == 413
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]

    async def test_on_an_unexpected_error(self) -> None:
        response = await response_when_a_route_raises(RuntimeError("boom"))

        assert response.status_code == 500
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("Cache-Control") == ["no-store"]


@pytest.mark.integration
class TestReadinessOfTheThrottleStore:
    async def test_a_throttle_store_that_is_down_makes_the_service_unready(self, closed_port: int) -> None:
        async with configured_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0") as client:
            response = await client.get(READY)

        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "throttle_store": "failed"}}

    async def test_a_throttle_store_that_answers_is_ready(self, redis_url: str) -> None:
        """The control: the same app with a Redis that answers."""
        async with configured_app(REDIS_URL=redis_url) as client:
            response = await client.get(READY)

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "throttle_store": "ok"}}

    async def test_a_login_while_the_throttle_store_is_down_is_a_503(self, closed_port: int) -> None:
        async with configured_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0") as client:
            response = await client.post(LOGIN, json={"email": unique_email(), "password": PASSWORD})

        assert_unavailable(response)


@pytest.mark.integration
class TestPasswordsKeptAsTyped:
    async def test_spaces_and_unicode_composition_are_part_of_the_password(self, client: AsyncClient) -> None:
        typed = "  Ame\u0301lie's pass 9  "  # leading and trailing spaces, a combining accent
        account = registration() | {"password": typed}
        assert (await client.post(USERS, json=account)).status_code == 201

        exact = await client.post(LOGIN, json={"email": account["email"], "password": typed})
        stripped = await client.post(LOGIN, json={"email": account["email"], "password": typed.strip()})
        composed = await client.post(
            LOGIN, json={"email": account["email"], "password": unicodedata.normalize("NFC", typed)}
        )

        assert exact.status_code == 200
        assert stripped.status_code == composed.status_code == 401


class ThreadRecordingHasher:
    """The service's ``PasswordHash``, recording which thread every argon2 computation runs on."""

    def __init__(self, inner: PasswordHash) -> None:
        self._inner = inner
        self.calls: list[tuple[str, int]] = []

    def hash(self, password: str) -> str:
        self.calls.append(("hash", threading.get_ident()))
        return self._inner.hash(password)

    def verify(self, password: str, hashed: str) -> bool:
        self.calls.append(("verify", threading.get_ident()))
        return self._inner.verify(password, hashed)

    @property
    def current_hasher(self) -> Any:
        return self._inner.current_hasher


@pytest.fixture
def recording_hasher(monkeypatch: pytest.MonkeyPatch) -> ThreadRecordingHasher:
    password_module.dummy_verify("warm-up")  # the dummy hash is made once per process, not per login
    recorder = ThreadRecordingHasher(password_module._password_hash())  # noqa: SLF001 - the seam under test
    monkeypatch.setattr(password_module, "_password_hash", lambda: recorder)
    return recorder


@pytest.mark.integration
class TestPasswordHashingOffTheEventLoop:
    async def test_registration_and_every_kind_of_login_hash_in_a_worker_thread(
        self, client: AsyncClient, recording_hasher: ThreadRecordingHasher
    ) -> None:
        account = registration()
        event_loop_thread = threading.get_ident()

        assert (await client.post(USERS, json=account)).status_code == 201
        assert (await client.post(LOGIN, json={"email": account["email"], "password": PASSWORD})).status_code == 200

        kinds = [kind for kind, _ in recording_hasher.calls]
        assert kinds[0] == "hash"
        assert "verify" in kinds
        assert event_loop_thread not in {thread for _, thread in recording_hasher.calls}

    async def test_an_unknown_email_costs_the_same_verification_as_a_wrong_password(
        self, client: AsyncClient, user: User, recording_hasher: ThreadRecordingHasher
    ) -> None:
        event_loop_thread = threading.get_ident()

        await client.post(LOGIN, json={"email": user.email, "password": "Wrong-password-123"})
        wrong_password = list(recording_hasher.calls)
        recording_hasher.calls.clear()
        await client.post(LOGIN, json={"email": unique_email(), "password": "Wrong-password-123"})
        unknown_email = list(recording_hasher.calls)

        assert [kind for kind, _ in unknown_email] == [kind for kind, _ in wrong_password] == ["verify"]
        assert event_loop_thread not in {thread for _, thread in wrong_password + unknown_email}
