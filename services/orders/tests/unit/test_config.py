"""Settings: what production needs to start, and the users service's URL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import DEVELOPMENT_USERS_SERVICE_URL, Settings

pytestmark = pytest.mark.unit


def test_production_refuses_to_start_without_the_users_service_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USERS_SERVICE_URL", raising=False)

    with pytest.raises(ValidationError, match="USERS_SERVICE_URL must be set"):
        Settings(environment="production")


def test_production_starts_with_the_three_settings() -> None:
    settings = Settings(
        environment="production", database_url="postgresql://db/orders", users_service_url="http://users:8000/"
    )

    assert settings.users_base_url == "http://users:8000"
    assert settings.serve_docs is False


def test_development_defaults_to_the_local_users_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USERS_SERVICE_URL", raising=False)

    assert Settings(environment="development").users_base_url == DEVELOPMENT_USERS_SERVICE_URL


@pytest.mark.parametrize("url", ["not a url", "ftp://users", ""])
def test_a_malformed_users_service_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(users_service_url=url)
