"""Metrics and request logs of the users service: scraped and read back after real traffic.

Each test builds its own app (its own metrics registry), so counts start from zero.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.main import create_app
from app.models.user import User
from servicekit.testing.app_client import app_client
from servicekit.testing.metrics import samples, value
from tests.conftest import PASSWORD

pytestmark = pytest.mark.integration

API = "/api/v1"
USER_ROUTE = f"{API}/users/{{user_id}}"


async def scrape(client: AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture
async def fresh_client(db_connection: AsyncConnection, mock_settings: Settings) -> AsyncIterator[AsyncClient]:
    async with app_client(create_app(mock_settings), db_connection) as client:
        yield client


class TestMetrics:
    async def test_requests_counted_by_route_template_and_status(self, fresh_client: AsyncClient, user: User) -> None:
        for _ in range(2):
            assert (await fresh_client.get(f"{API}/users/{user.id}")).status_code == 200
        assert (await fresh_client.get(f"{API}/users/{user.id + 1000}")).status_code == 404
        assert (await fresh_client.get("/no/such/path/123")).status_code == 404

        exposition = await scrape(fresh_client)

        ok = {"method": "GET", "route": USER_ROUTE, "status": "200"}
        assert value(exposition, "http_requests_total", **ok) == 2
        assert value(exposition, "http_request_duration_seconds_count", **ok) == 2
        assert value(exposition, "http_request_duration_seconds_sum", **ok) > 0
        assert value(exposition, "http_requests_total", method="GET", route=USER_ROUTE, status="404") == 1
        assert value(exposition, "http_requests_total", method="GET", route="<unmatched>", status="404") == 1
        assert str(user.id) not in {sample.labels.get("route") for sample in samples(exposition)}
        assert value(exposition, "http_requests_in_flight") == 0

    async def test_a_client_cannot_mint_method_labels(self, fresh_client: AsyncClient) -> None:
        response = await fresh_client.request("BREW", f"{API}/health/live")

        exposition = await scrape(fresh_client)
        route = f"{API}/health/live"
        assert value(exposition, "http_requests_total", method="OTHER", route=route, status=str(response.status_code))

    async def test_login_throttle_rejections_are_counted(
        self, fresh_client: AsyncClient, user: User, mock_settings: Settings
    ) -> None:
        limit = mock_settings.login_max_failures_per_account
        statuses = [
            (
                await fresh_client.post(
                    f"{API}/auth/login", json={"email": user.email, "password": "wrong-" + PASSWORD}
                )
            ).status_code
            for _ in range(limit + 2)
        ]

        assert statuses == [401] * limit + [429, 429]
        exposition = await scrape(fresh_client)
        assert value(exposition, "login_throttle_rejections_total", rule="account") == 2

    async def test_metrics_are_off_when_disabled(self, db_connection: AsyncConnection, mock_settings: Settings) -> None:
        mock_settings.metrics_enabled = False
        async with app_client(create_app(mock_settings), db_connection) as client:
            response = await client.get("/metrics")

        assert response.status_code == 404


class TestPoolMetrics:
    async def test_pool_in_use_and_idle_are_read_at_scrape_time(self, truncate_after_test: None) -> None:
        application = create_app()
        async with app_client(application) as client:
            assert (await client.get(f"{API}/health/ready")).status_code == 200
            idle = await scrape(client)
            async with application.state.engine.connect():
                busy = await scrape(client)

        assert value(idle, "db_pool_connections", state="in_use") == 0
        assert value(idle, "db_pool_connections", state="idle") >= 1
        assert value(busy, "db_pool_connections", state="in_use") == 1


def read_json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


class TestRequestLog:
    async def test_one_line_per_request_with_route_template_status_duration_and_id(
        self, db_connection: AsyncConnection, mock_settings: Settings, capsys: pytest.CaptureFixture[str], user: User
    ) -> None:
        mock_settings.log_format = "json"
        async with app_client(create_app(mock_settings), db_connection) as client:
            capsys.readouterr()
            response = await client.get(f"{API}/users/{user.id}?token=in-the-query", headers={"X-Request-ID": "abc-1"})
            lines = read_json_lines(capsys)

        requests = [line for line in lines if line["logger"] == "servicekit.requests"]
        assert len(requests) == 1
        line = requests[0]
        assert response.status_code == 200
        assert line["service"] == "users"
        assert line["level"] == "INFO"
        assert line["request_id"] == "abc-1"
        assert (line["http_method"], line["route"], line["status"]) == ("GET", USER_ROUTE, 200)
        assert isinstance(line["duration_ms"], float)
        assert "in-the-query" not in json.dumps(lines)
        assert f"/users/{user.id}" not in str(line["message"])

    async def test_every_line_of_a_request_carries_its_id(
        self, db_connection: AsyncConnection, mock_settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mock_settings.log_format = "json"
        application = create_app(mock_settings)

        @application.get("/logs-twice")
        async def logs_twice() -> None:
            logging.getLogger("app.anything").warning("first")
            logging.getLogger("sqlalchemy.anything").warning("second")

        async with app_client(application, db_connection) as client:
            capsys.readouterr()
            await client.get("/logs-twice", headers={"X-Request-ID": "req-42"})
            await client.get(f"{API}/health/live", headers={"X-Request-ID": "req-43"})
            lines = read_json_lines(capsys)

        by_message = {line["message"]: line for line in lines}
        assert by_message["first"]["request_id"] == "req-42"
        assert by_message["second"]["request_id"] == "req-42"
        assert [line["request_id"] for line in lines if line["logger"] == "servicekit.requests"] == ["req-42", "req-43"]
