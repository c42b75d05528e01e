"""Apps started with other settings than the suite's, and the assertions shared by their tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from httpx import AsyncClient, Response

from app.config import get_settings
from app.main import create_app
from servicekit.testing.app_client import app_client
from tests.conftest import PASSWORD
from tests.factories import unique_email, unique_username


@contextmanager
def environment(**variables: str) -> Iterator[None]:
    """Settings from these variables for whatever starts inside (apps read settings at start-up)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


@asynccontextmanager
async def configured_app(**variables: str) -> AsyncIterator[AsyncClient]:
    """A fresh app (its own engine, pool and throttle store) started with these settings."""
    with environment(**variables):
        async with app_client(create_app()) as client:
            yield client


def registration() -> dict[str, str]:
    return {"email": unique_email(), "username": unique_username(), "password": PASSWORD}


def assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"
