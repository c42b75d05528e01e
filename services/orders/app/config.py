"""Typed settings, read from the environment and validated once at start-up."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AnyHttpUrl, Field, model_validator

from servicekit.settings import ServiceSettings

#: Where the users service runs in development (``make run``) and tests unless configured.
DEVELOPMENT_USERS_SERVICE_URL = "http://127.0.0.1:8000"


class Settings(ServiceSettings):
    """Every tunable of the orders service. Environment variables use the upper-case field name.

    Logging, metrics and shutdown settings come from :class:`ServiceSettings`.
    """

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/orders"
    #: Defaults to the local users service of development (``make run``); production must set it.
    users_service_url: AnyHttpUrl = AnyHttpUrl(DEVELOPMENT_USERS_SERVICE_URL)

    #: Connecting to the users service; a refused or unreachable port fails fast.
    users_connect_timeout_seconds: float = Field(default=1.0, gt=0)
    #: Waiting for one answer of the users service.
    users_read_timeout_seconds: float = Field(default=2.0, gt=0)
    #: The whole call, retries included: POST /orders answers 503 within about this long.
    users_deadline_seconds: float = Field(default=4.0, gt=0)
    #: Attempts of an idempotent call (GET) when the users service fails transiently.
    users_retry_attempts: int = Field(default=4, ge=1, le=10)
    #: First pause between attempts; it doubles each time (with jitter).
    users_retry_initial_wait_seconds: float = Field(default=0.1, ge=0)
    #: Consecutive failures that open the circuit breaker.
    users_breaker_threshold: int = Field(default=5, ge=1)
    #: How long the open breaker refuses calls before one trial call (half-open).
    users_breaker_ttl_seconds: float = Field(default=5.0, gt=0)
    #: Larger answers of the users service are refused, not parsed.
    users_max_response_bytes: int = Field(default=64 * 1024, ge=1024)
    users_max_connections: int = Field(default=100, ge=1)

    #: A job whose worker stopped sending heartbeats for this long is taken up by another.
    worker_heartbeat_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Delay before the first retry of a job that met an unreachable users service; it doubles.
    worker_retry_initial_delay_seconds: float = Field(default=1.0, gt=0)
    #: Longest delay between two retries of a job.
    worker_retry_max_delay_seconds: float = Field(default=10.0, gt=0)
    worker_concurrency: int = Field(default=20, ge=2)
    #: Port of the worker's own ``/metrics`` (jobs and queue); unset: not served. Never public.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: Address the worker's metrics listen on: ``0.0.0.0`` in a container, so probes reach them.
    worker_metrics_address: str = "127.0.0.1"
    #: How often the worker reads the queue's depth and oldest job for its metrics.
    worker_queue_metrics_interval_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _users_service_url_required_in_production(self) -> Settings:
        if self.is_production and "users_service_url" not in self.model_fields_set:
            msg = "USERS_SERVICE_URL must be set when ENVIRONMENT=production"
            raise ValueError(msg)
        return self

    @property
    def users_base_url(self) -> str:
        """The users service's base URL, without a trailing slash."""
        return str(self.users_service_url).rstrip("/")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, validated on first use (the app factory calls it at start-up)."""
    return Settings()
