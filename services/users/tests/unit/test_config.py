"""Settings: read from the environment; production refuses to start with a weak secret key."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.config import DEVELOPMENT_SECRET_KEY, MIN_SECRET_KEY_LENGTH, Settings, get_settings
from app.main import create_app

STRONG_KEY = secrets.token_urlsafe(48)


@pytest.fixture
def env() -> Iterator[pytest.MonkeyPatch]:
    """The process environment, restored afterwards, with the cached settings forgotten both ways."""
    with pytest.MonkeyPatch.context() as patch:
        get_settings.cache_clear()
        yield patch
    get_settings.cache_clear()


@pytest.mark.unit
class TestSecretKeyInProduction:
    def test_missing_secret_key_is_refused(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("ENVIRONMENT", "production")
        env.delenv("SECRET_KEY", raising=False)

        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings()

    def test_default_secret_key_is_refused(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("ENVIRONMENT", "production")
        env.setenv("SECRET_KEY", DEVELOPMENT_SECRET_KEY)

        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings()

    @pytest.mark.parametrize("weak", ["secret", "changeme", "change-me", "your-secret-key", ""])
    def test_well_known_weak_keys_are_refused(self, weak: str) -> None:
        with pytest.raises(ValidationError):
            Settings(environment="production", secret_key=weak)

    def test_key_one_character_too_short_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            Settings(environment="production", secret_key=STRONG_KEY[: MIN_SECRET_KEY_LENGTH - 1])

    @pytest.mark.parametrize("uniform", [" " * 64, "a" * 64, "abab" * 16])
    def test_long_but_uniform_key_is_refused(self, uniform: str) -> None:
        with pytest.raises(ValidationError):
            Settings(environment="production", secret_key=uniform)

    def test_key_of_the_minimum_length_is_accepted(self) -> None:
        settings = Settings(environment="production", secret_key=STRONG_KEY[:MIN_SECRET_KEY_LENGTH])

        assert settings.is_production
        assert settings.secret_key.get_secret_value() == STRONG_KEY[:MIN_SECRET_KEY_LENGTH]

    def test_strong_key_from_the_environment_is_accepted(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("ENVIRONMENT", "production")
        env.setenv("SECRET_KEY", STRONG_KEY)

        settings = get_settings()

        assert settings.environment == "production"
        assert settings.secret_key.get_secret_value() == STRONG_KEY

    @given(st.text(max_size=MIN_SECRET_KEY_LENGTH - 1))
    def test_every_short_key_is_refused(self, key: str) -> None:
        with pytest.raises(ValidationError):
            Settings(environment="production", secret_key=key)

    def test_the_service_refuses_to_start(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("ENVIRONMENT", "production")
        env.delenv("SECRET_KEY", raising=False)

        with pytest.raises(ValidationError):
            create_app()

    def test_the_error_does_not_reveal_the_refused_key(self) -> None:
        almost_secret = "a-real-but-short-key-" + "q" * 8

        with pytest.raises(ValidationError) as raised:
            Settings(environment="production", secret_key=almost_secret)

        assert "q" * 8 not in str(raised.value)
        assert almost_secret[:8] not in str(raised.value)

    def test_secret_key_is_not_shown_in_repr(self) -> None:
        settings = Settings(environment="production", secret_key=STRONG_KEY)

        assert STRONG_KEY not in repr(settings)
        assert STRONG_KEY not in str(settings.model_dump())


@pytest.mark.unit
class TestDevelopmentAndTest:
    @pytest.mark.parametrize("environment", ["development", "test"])
    def test_default_key_is_accepted(self, env: pytest.MonkeyPatch, environment: str) -> None:
        env.setenv("ENVIRONMENT", environment)
        env.delenv("SECRET_KEY", raising=False)

        settings = Settings()

        assert settings.environment == environment
        assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
        assert not settings.is_production

    @pytest.mark.parametrize("environment", ["development", "test"])
    def test_short_key_is_accepted(self, environment: str) -> None:
        assert Settings(environment=environment, secret_key="short").secret_key.get_secret_value() == "short"

    def test_environment_defaults_to_development(self, env: pytest.MonkeyPatch) -> None:
        env.delenv("ENVIRONMENT", raising=False)

        assert Settings().environment == "development"


@pytest.mark.unit
class TestEnvironmentName:
    @pytest.mark.parametrize("environment", ["development", "test", "production"])
    def test_the_three_environments_are_accepted(self, env: pytest.MonkeyPatch, environment: str) -> None:
        env.setenv("ENVIRONMENT", environment)
        env.setenv("SECRET_KEY", STRONG_KEY)

        assert Settings().environment == environment

    @pytest.mark.parametrize("environment", ["staging", "prod", "Production", "PRODUCTION", "dev", " test", ""])
    def test_anything_else_is_refused(self, env: pytest.MonkeyPatch, environment: str) -> None:
        env.setenv("ENVIRONMENT", environment)
        env.setenv("SECRET_KEY", STRONG_KEY)

        with pytest.raises(ValidationError, match="environment"):
            Settings()

    def test_other_settings_come_from_the_environment(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("REDIS_URL", "redis://cache.internal:6379/0")
        env.setenv("LOGIN_MAX_FAILURES_PER_ACCOUNT", "7")
        env.setenv("DATABASE_URL", "postgresql+asyncpg://u@db.internal/users")

        settings = Settings()

        assert settings.redis_url == "redis://cache.internal:6379/0"
        assert settings.login_max_failures_per_account == 7
        assert settings.database_url == "postgresql+asyncpg://u@db.internal/users"
