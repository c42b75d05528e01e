"""Settings every service has: environment, logging and metrics, database pool and timeouts,
body limit, docs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.observability import ObservabilitySettings


class ServiceSettings(ObservabilitySettings):
    """The common part of a service's settings; each service subclasses it with its own fields.

    Environment variables use the upper-case field name. Logging, metrics and shutdown settings
    (and ``environment``) come from :class:`ObservabilitySettings`, which ``servicekit.server``
    reads on its own before the app is imported.
    """

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", validate_assignment=True, hide_input_in_errors=True
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_command_timeout_seconds: float = Field(default=30.0, gt=0)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Interactive docs and the OpenAPI document; unset means on, except in production.
    docs_enabled: bool | None = None

    @property
    def serve_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def is_production(self) -> bool:
        return self.environment == "production"
