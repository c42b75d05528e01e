"""Typed settings, read from the environment and validated once at start-up."""

from __future__ import annotations

from functools import lru_cache

from pydantic import EmailStr, Field, HttpUrl, SecretStr, model_validator

from servicekit.settings import ServiceSettings

#: Keys that must never protect a production deployment. The first is the development default.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me-0123456789"  # noqa: S105 - public dev default, refused in production
_KNOWN_WEAK_KEYS = frozenset({DEVELOPMENT_SECRET_KEY, "secret", "changeme", "change-me", "your-secret-key"})
MIN_SECRET_KEY_LENGTH = 32
#: Catches "aaaa…" or a key of spaces; any random key has far more distinct characters.
MIN_DISTINCT_SECRET_CHARACTERS = 8


class Settings(ServiceSettings):
    """Every tunable of the service. Environment variables use the upper-case field name.

    The environment, logging, metrics and shutdown, database pool and timeouts, body limit and
    docs come from :class:`ServiceSettings`.
    """

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/users"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    redis_url: str | None = None

    jwt_issuer: str = "users-service"
    jwt_audience: str = "users-service"
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)

    argon2_memory_cost_kib: int = Field(default=19 * 1024, ge=8)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)

    login_max_failures_per_account: int = Field(default=5, ge=1)
    #: Higher than the account limit: many users can share one address (NAT, a proxy).
    login_max_failures_per_client: int = Field(default=100, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)

    #: Limits of the account flows, each counted per ``rate_limit_window_seconds``: 429 past them.
    rate_limit_window_seconds: int = Field(default=3600, ge=1)
    #: Above what one address registers legitimately, below a flood (NAT and proxies share addresses).
    registrations_per_client: int = Field(default=50, ge=1)
    #: A client refreshes about once per access token lifetime (15 minutes); this is far above.
    refreshes_per_family: int = Field(default=60, ge=1)
    verification_emails_per_account: int = Field(default=5, ge=1)
    #: Each counts forgot-password requests and, apart, reset attempts (per account, per client).
    password_resets_per_account: int = Field(default=5, ge=1)
    password_resets_per_client: int = Field(default=20, ge=1)

    #: Whether an account whose email is not verified may log in (``is_verified`` shows it).
    allow_unverified_login: bool = True
    verification_token_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    password_reset_token_ttl_seconds: int = Field(default=30 * 60, ge=60)
    #: Where the links of account emails lead: ``{FRONTEND_URL}/verify-email#token=...``.
    frontend_url: HttpUrl = HttpUrl("http://localhost:3000")

    #: The superuser created at start-up when there is none (both or neither).
    first_superuser_email: EmailStr | None = None
    first_superuser_password: SecretStr | None = None
    first_superuser_username: str = "admin"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_sender: str = "no-reply@users.example.com"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _require_strong_secret_outside_development(self) -> Settings:
        if self.environment in ("development", "test"):
            return self
        key = self.secret_key.get_secret_value()
        too_uniform = len(set(key)) < MIN_DISTINCT_SECRET_CHARACTERS
        if key in _KNOWN_WEAK_KEYS or len(key) < MIN_SECRET_KEY_LENGTH or too_uniform:
            msg = (
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
                f"characters when ENVIRONMENT={self.environment}"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _first_superuser_needs_both(self) -> Settings:
        if (self.first_superuser_email is None) != (self.first_superuser_password is None):
            msg = "FIRST_SUPERUSER_EMAIL and FIRST_SUPERUSER_PASSWORD are set together or not at all"
            raise ValueError(msg)
        return self

    def frontend_link(self, path: str) -> str:
        """``FRONTEND_URL`` joined with ``path`` (one slash between them)."""
        return f"{str(self.frontend_url).rstrip('/')}/{path.lstrip('/')}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, validated on first use (the app factory calls it at start-up)."""
    return Settings()
