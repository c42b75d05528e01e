"""The orders API's metrics, request log and offline docs, read back after real requests.

Each test builds its own app (its own metrics registry), so counts start from zero; requests
run inside the test's transaction, the users service faked at the HTTP boundary.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.main import create_app
from servicekit.testing.app_client import app_client
from servicekit.testing.metrics import samples, value
from tests.support.orders import ORDERS, place_order
from tests.support.users_service import USERS_SERVICE_URL, FakeUsersService

pytestmark = pytest.mark.integration

ORDER_ROUTE = f"{ORDERS}/{{order_id}}"
Caller = tuple[int, dict[str, str]]


@pytest.fixture
async def fresh_client(
    db_connection: AsyncConnection, users_service: FakeUsersService, mock_settings: Settings
) -> AsyncIterator[AsyncClient]:
    async with app_client(create_app(mock_settings), db_connection) as client:
        yield client


async def scrape(client: AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_are_counted_by_route_template_and_status(fresh_client: AsyncClient, caller: Caller) -> None:
    order = await place_order(fresh_client, caller[1])
    for _ in range(2):
        assert (await fresh_client.get(f"{ORDERS}/{order['id']}", headers=caller[1])).status_code == 200
    assert (await fresh_client.get(f"{ORDERS}/{order['id'] + 1000}", headers=caller[1])).status_code == 404

    exposition = await scrape(fresh_client)

    assert value(exposition, "http_requests_total", method="POST", route=ORDERS, status="202") == 1
    assert value(exposition, "http_requests_total", method="GET", route=ORDER_ROUTE, status="200") == 2
    assert value(exposition, "http_requests_total", method="GET", route=ORDER_ROUTE, status="404") == 1
    assert value(exposition, "http_request_duration_seconds_count", method="POST", route=ORDERS, status="202") == 1
    assert value(exposition, "http_requests_in_flight") == 0
    assert value(exposition, "db_pool_connections", state="in_use") == 0
    assert str(order["id"]) not in {sample.labels.get("route") for sample in samples(exposition)}


async def test_the_request_line_and_the_users_call_share_the_request_id(
    caller: Caller,
    users_service: FakeUsersService,
    mock_settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mock_settings.log_format = "json"
    async with app_client(create_app(mock_settings)) as client:
        capsys.readouterr()
        response = await client.get(f"{ORDERS}/1", headers={**caller[1], "X-Request-ID": "ord-req-1"})
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]

    requests = [line for line in lines if line["logger"] == "servicekit.requests"]
    users_calls = [line for line in lines if line["logger"] == "httpx" and USERS_SERVICE_URL in line["message"]]
    assert response.status_code == 404
    assert [(line["service"], line["route"], line["status"]) for line in requests] == [("orders", ORDER_ROUTE, 404)]
    assert [line["request_id"] for line in requests + users_calls] == ["ord-req-1", "ord-req-1"]
    assert users_service.me_route.calls.last.request.headers["X-Request-ID"] == "ord-req-1"


async def test_docs_are_served_from_the_service_itself(fresh_client: AsyncClient) -> None:
    pages = {page: await fresh_client.get(page) for page in ("/docs", "/redoc")}
    assets = {asset for page in pages.values() for asset in re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)}
    fetched = [(await fresh_client.get(asset)).status_code for asset in sorted(assets)]

    assert [page.status_code for page in pages.values()] == [200, 200]
    assert assets
    assert all(asset.startswith("/docs-assets/") for asset in assets)
    assert fetched == [200] * len(assets)


async def test_docs_and_openapi_are_off_in_production_by_default(mock_settings: Settings) -> None:
    mock_settings.environment = "production"
    mock_settings.docs_enabled = None
    async with app_client(create_app(mock_settings)) as client:
        statuses = [(await client.get(path)).status_code for path in ("/docs", "/redoc", "/openapi.json")]

    assert statuses == [404, 404, 404]
