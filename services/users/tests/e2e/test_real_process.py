"""The service as a real process (uvicorn, production settings) over real HTTP, SMTP and PostgreSQL.

Everything these tests write is committed to this worker's database; the module truncates the
tables at the end (after the processes have stopped). Emails and usernames are unique.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import DEVELOPMENT_SECRET_KEY
from devtools.net import free_port, wait_for_http_ok
from tests.factories import unique_email, unique_username
from tests.support.databases import SERVICE_ROOT, TRUNCATE_ALL_TABLES
from tests.support.smtp import RecordingHandler

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API = "/api/v1"
PASSWORD = "SecurePass123!"
#: One strong key for every process of the module, so tokens of one process are valid on another.
SECRET_KEY = secrets.token_urlsafe(48)
STARTUP_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 15.0


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=10.0)

    def wait_until_ready(self, deadline_seconds: float = STARTUP_DEADLINE_SECONDS) -> None:
        """Poll ``/health/ready`` until it answers 200; fail early if the process exits."""
        wait_for_http_ok(
            f"{self.base_url}{API}/health/ready", self.process, deadline_seconds=deadline_seconds, describe=self.output
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_DEADLINE_SECONDS)


def _uvicorn_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]


def _service_env(database_url: str, **overrides: str | None) -> dict[str, str]:
    """The process environment: production, a strong key, this worker's DB, the test SMTP server."""
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        ENVIRONMENT="production",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=os.environ["SMTP_PORT"],
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _launch(env: dict[str, str], log_dir: Path) -> ServiceProcess:
    port = free_port()
    log_path = log_dir / f"uvicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed command, our own interpreter
            _uvicorn_command(port), cwd=SERVICE_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return ServiceProcess(process, f"http://127.0.0.1:{port}", log_path)


@contextmanager
def running_services(env: dict[str, str], log_dir: Path, count: int) -> Iterator[list[ServiceProcess]]:
    """Start ``count`` processes of ``uvicorn app.main:app`` at once, wait until all are ready, stop them."""
    services: list[ServiceProcess] = []
    try:
        services.extend(_launch(env, log_dir) for _ in range(count))
        for service in services:
            service.wait_until_ready()
        yield services
    finally:
        for service in services:
            service.stop()


@contextmanager
def running_service(env: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    with running_services(env, log_dir, 1) as (service,):
        yield service


@pytest.fixture(scope="module")
async def committed_data(test_engine: AsyncEngine) -> AsyncIterator[None]:
    """Truncate what the processes committed, once they are stopped (torn down after them)."""
    yield
    async with test_engine.begin() as connection:
        await connection.execute(TRUNCATE_ALL_TABLES)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uvicorn")


@pytest.fixture(scope="module")
def service(
    committed_data: None, database_url: str, smtp_server: RecordingHandler, log_dir: Path
) -> Iterator[ServiceProcess]:
    """One production-mode process for the module."""
    with running_service(_service_env(database_url), log_dir) as process:
        yield process


@pytest.fixture
async def http(service: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with service.client() as client:
        yield client


async def _register(http: httpx.AsyncClient) -> dict[str, Any]:
    data = {"email": unique_email(), "username": unique_username(), "password": PASSWORD}
    response = await http.post(f"{API}/users", json=data)
    assert response.status_code == 201, response.text
    return {**response.json(), "password": PASSWORD}


async def _login(http: httpx.AsyncClient, account: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(f"{API}/auth/login", json={"email": account["email"], "password": account["password"]})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


class TestOverRealHttp:
    async def test_register_login_update_refresh_logout(self, http: httpx.AsyncClient) -> None:
        email, username = unique_email(), unique_username()
        register = await http.post(f"{API}/users", json={"email": email, "username": username, "password": PASSWORD})
        assert register.status_code == 201
        created = register.json()
        assert created["email"] == email
        assert "password" not in created
        assert "hashed_password" not in created

        login = await http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200
        first = login.json()
        assert first["token_type"] == "bearer"

        me = await http.get(f"{API}/users/me", headers=_bearer(first["access_token"]))
        assert me.status_code == 200
        assert me.json()["id"] == created["id"]

        new_username = unique_username()
        patch = await http.patch(
            f"{API}/users/{created['id']}", json={"username": new_username}, headers=_bearer(first["access_token"])
        )
        assert patch.status_code == 200
        assert patch.json()["username"] == new_username

        refresh = await http.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert refresh.status_code == 200
        second = refresh.json()
        assert second["refresh_token"] != first["refresh_token"]
        me_again = await http.get(f"{API}/users/me", headers=_bearer(second["access_token"]))
        assert me_again.status_code == 200
        assert me_again.json()["username"] == new_username

        logout = await http.post(f"{API}/auth/logout", headers=_bearer(second["access_token"]))
        assert logout.status_code == 200

        after_logout = await http.get(f"{API}/users/me", headers=_bearer(second["access_token"]))
        assert after_logout.status_code == 401
        old_refresh = await http.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert old_refresh.status_code == 401
        rotated_refresh = await http.post(f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert rotated_refresh.status_code == 401

    async def test_reused_refresh_token_is_refused(self, http: httpx.AsyncClient) -> None:
        tokens = await _login(http, await _register(http))
        rotated = await http.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert rotated.status_code == 200

        reused = await http.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

        assert reused.status_code == 401
        family_revoked = await http.post(f"{API}/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
        assert family_revoked.status_code == 401

    async def test_posts_flow(self, http: httpx.AsyncClient) -> None:
        author = await _register(http)
        author_headers = _bearer((await _login(http, author))["access_token"])
        other_headers = _bearer((await _login(http, await _register(http)))["access_token"])

        published = await http.post(
            f"{API}/posts", json={"title": "Hello", "content": "World", "published": True}, headers=author_headers
        )
        draft = await http.post(f"{API}/posts", json={"title": "Draft", "content": "Soon"}, headers=author_headers)
        assert published.status_code == 201
        assert draft.status_code == 201
        published_id, draft_id = published.json()["id"], draft.json()["id"]
        assert published.json()["user_id"] == author["id"]
        assert draft.json()["published"] is False

        listing = await http.get(f"{API}/posts", params={"limit": 100})
        assert listing.status_code == 200
        listed_ids = {item["id"] for item in listing.json()["items"]}
        assert published_id in listed_ids
        assert draft_id not in listed_ids

        assert (await http.get(f"{API}/posts/{draft_id}")).status_code == 404
        assert (await http.get(f"{API}/posts/{draft_id}", headers=other_headers)).status_code == 404
        assert (await http.get(f"{API}/posts/{draft_id}", headers=author_headers)).status_code == 200

        public_posts = await http.get(f"{API}/users/{author['id']}/posts")
        assert [item["id"] for item in public_posts.json()["items"]] == [published_id]

        foreign_edit = await http.patch(f"{API}/posts/{published_id}", json={"title": "Mine"}, headers=other_headers)
        assert foreign_edit.status_code == 403  # a published post: visible to all, editable by its author only
        assert foreign_edit.json()["code"] == "permission_denied"
        edit = await http.patch(f"{API}/posts/{published_id}", json={"title": "Edited"}, headers=author_headers)
        assert edit.status_code == 200
        assert edit.json()["title"] == "Edited"
        assert (await http.get(f"{API}/posts/{published_id}")).json()["title"] == "Edited"

        foreign_delete = await http.delete(f"{API}/posts/{published_id}", headers=other_headers)
        assert foreign_delete.status_code == 403
        assert foreign_delete.json()["code"] == "permission_denied"
        delete = await http.delete(f"{API}/posts/{published_id}", headers=author_headers)
        assert delete.status_code == 204
        assert (await http.get(f"{API}/posts/{published_id}")).status_code == 404

    async def test_send_notification_emails_the_caller(
        self, http: httpx.AsyncClient, mailbox: RecordingHandler
    ) -> None:
        account = await _register(http)
        headers = _bearer((await _login(http, account))["access_token"])

        response = await http.post(
            f"{API}/send-notification",
            json={"subject": "Real process", "message": "Sent by a separate uvicorn process."},
            headers=headers,
        )

        assert response.status_code == 200
        message = await mailbox.wait_for_message_to(account["email"], within_seconds=15.0, subject="Real process")
        assert "Sent by a separate uvicorn process." in message.get_payload()


class TestRevocationIsShared:
    async def test_logout_survives_a_restart(self, committed_data: None, database_url: str, log_dir: Path) -> None:
        env = _service_env(database_url)
        with running_service(env, log_dir) as first:
            async with first.client() as http:
                account = await _register(http)
                revoked = await _login(http, account)
                kept = await _login(http, account)
                logout = await http.post(f"{API}/auth/logout", headers=_bearer(revoked["access_token"]))
                assert logout.status_code == 200

        assert first.process.returncode is not None
        with running_service(env, log_dir) as second:
            async with second.client() as http:
                refused = await http.get(f"{API}/users/me", headers=_bearer(revoked["access_token"]))
                accepted = await http.get(f"{API}/users/me", headers=_bearer(kept["access_token"]))

        assert refused.status_code == 401
        assert accepted.status_code == 200


#: Low, so a few failures reach it; split across two processes, they must still add up.
SHARED_ACCOUNT_LIMIT = 4


class TestTwoInstancesAreStateless:
    """Two processes on one database and one Redis, as behind a load balancer: any request may
    reach either, so nothing a request leaves behind may live in one process only."""

    async def test_tokens_of_one_refreshed_and_logged_out_on_the_other_are_refused_by_both(
        self, committed_data: None, database_url: str, redis_url: str, log_dir: Path
    ) -> None:
        env = _service_env(database_url, REDIS_URL=redis_url)
        with running_services(env, log_dir, 2) as (one, two):
            async with one.client() as http_a, two.client() as http_b:
                first = await _login(http_a, await _register(http_a))
                refreshed = await http_b.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
                second = refreshed.json()
                usable_on_one = await http_a.get(f"{API}/users/me", headers=_bearer(second["access_token"]))
                logout = await http_b.post(f"{API}/auth/logout", headers=_bearer(second["access_token"]))
                refusals = {
                    (instance, issued_by, token): await _token_status(http, token, pair)
                    for instance, http in (("one", http_a), ("two", http_b))
                    for issued_by, pair in (("login", first), ("refresh", second))
                    for token in ("access_token", "refresh_token")
                }

        assert (refreshed.status_code, usable_on_one.status_code, logout.status_code) == (200, 200, 200)
        assert refusals == dict.fromkeys(refusals, 401)
        assert len(refusals) == 8

    async def test_login_failures_split_across_instances_reach_the_account_limit(
        self, committed_data: None, database_url: str, redis_url: str, log_dir: Path
    ) -> None:
        env = _service_env(database_url, REDIS_URL=redis_url, LOGIN_MAX_FAILURES_PER_ACCOUNT=str(SHARED_ACCOUNT_LIMIT))
        with running_services(env, log_dir, 2) as (one, two):
            async with one.client() as http_a, two.client() as http_b:
                account = await _register(http_a)
                wrong = {"email": account["email"], "password": f"Wrong-{PASSWORD}"}
                right = {"email": account["email"], "password": PASSWORD}
                failures = [
                    (await http.post(f"{API}/auth/login", json=wrong)).status_code
                    for _ in range(SHARED_ACCOUNT_LIMIT // 2)
                    for http in (http_a, http_b)
                ]
                refused = [(await http.post(f"{API}/auth/login", json=right)).status_code for http in (http_a, http_b)]

        assert failures == [401] * SHARED_ACCOUNT_LIMIT
        assert refused == [429, 429]


async def _token_status(http: httpx.AsyncClient, token: str, pair: dict[str, Any]) -> int:
    """What the instance answers to the pair's access token (``/users/me``) or refresh token."""
    if token == "access_token":
        return (await http.get(f"{API}/users/me", headers=_bearer(pair[token]))).status_code
    return (await http.post(f"{API}/auth/refresh", json={"refresh_token": pair[token]})).status_code


class TestStartupConfiguration:
    @pytest.mark.parametrize(
        "secret_key",
        [None, DEVELOPMENT_SECRET_KEY, "0123456789"],
        ids=["missing", "development-default", "ten-characters"],
    )
    def test_production_refuses_a_weak_secret_key(self, database_url: str, secret_key: str | None) -> None:
        env = _service_env(database_url, SECRET_KEY=secret_key)

        result = subprocess.run(  # noqa: S603 - fixed command, our own interpreter
            _uvicorn_command(free_port()),
            cwd=SERVICE_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=STARTUP_DEADLINE_SECONDS,
            check=False,
        )

        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "SECRET_KEY" in output
        assert "Uvicorn running" not in output
        assert "Application startup complete" not in output

    def test_development_starts_without_a_secret_key(
        self, committed_data: None, database_url: str, log_dir: Path
    ) -> None:
        env = _service_env(database_url, ENVIRONMENT="development", SECRET_KEY=None)

        with running_service(env, log_dir) as service:
            response = httpx.get(f"{service.base_url}{API}/health/ready", timeout=5.0)

        assert response.status_code == 200
        assert response.json()["status"] == "ok"
