"""Apps started with other settings than the suite's, and the assertions shared by their tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from httpx import AsyncClient, Response

from app.config import get_settings
from app.main import create_app
from servicekit.testing.app_client import app_client
from tests.conftest import PASSWORD
from tests.factories import unique_email, unique_username


@asynccontextmanager
async def configured_app(**environment: str) -> AsyncIterator[AsyncClient]:
    """A fresh app (its own engine, pool and throttle store) started with these settings."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            async with app_client(create_app()) as client:
                yield client
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def registration() -> dict[str, str]:
    return {"email": unique_email(), "username": unique_username(), "password": PASSWORD}


def assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"
