"""``/docs`` and ``/redoc`` need nothing outside the service: every URL in them is the service's own."""

from __future__ import annotations

import re

import pytest
from httpx import ASGITransport, AsyncClient

from app.config import Settings
from app.main import create_app

pytestmark = pytest.mark.integration

ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


@pytest.fixture
async def docs_client(mock_settings: Settings) -> AsyncClient:
    mock_settings.docs_enabled = True
    return AsyncClient(transport=ASGITransport(app=create_app(mock_settings)), base_url="http://users.internal")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_names_no_outside_url(docs_client: AsyncClient, page: str) -> None:
    async with docs_client:
        response = await docs_client.get(page)
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
        fetched = [await docs_client.get(asset) for asset in assets]

    assert response.status_code == 200
    assert ABSOLUTE_URL.findall(response.text) == []
    assert assets, response.text
    assert all(asset.startswith("/docs-assets/") for asset in assets)
    assert [asset.status_code for asset in fetched] == [200] * len(assets)


@pytest.mark.parametrize(
    "license_file", ["swagger-ui-dist/LICENSE", "redoc/LICENSE", "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt"]
)
async def test_the_assets_licenses_are_served_beside_them(docs_client: AsyncClient, license_file: str) -> None:
    async with docs_client:
        response = await docs_client.get(f"/docs-assets/{license_file}")

    assert response.status_code == 200
    assert "License" in response.text or "license" in response.text


async def test_swagger_ui_does_not_call_the_public_validator(docs_client: AsyncClient) -> None:
    async with docs_client:
        page = (await docs_client.get("/docs")).text

    assert '"validatorUrl": null' in page


async def test_docs_are_off_in_production_by_default(mock_settings: Settings) -> None:
    mock_settings.environment = "production"
    mock_settings.docs_enabled = None
    transport = ASGITransport(app=create_app(mock_settings))
    async with AsyncClient(transport=transport, base_url="http://users.internal") as client:
        statuses = [(await client.get(path)).status_code for path in ("/docs", "/redoc", "/openapi.json")]

    assert statuses == [404, 404, 404]
