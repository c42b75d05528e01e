"""Application factory. ``app`` is built at import; connections are made only in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis

from app.api import admin, auth, errors, health, notifications, posts, users
from app.cli import ensure_first_superuser
from app.config import Settings, get_settings
from app.database import APPLICATION_NAME, ReadDatabase, create_engine, create_session_factory
from app.services.limits import Limit
from app.utils.throttle import (
    FailureCounter,
    InMemoryFailureCounter,
    LoginThrottle,
    RateLimits,
    RedisFailureCounter,
    ThrottleRule,
)
from servicekit.application import service_app
from servicekit.metrics import engine_pool, install_metrics
from servicekit.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from servicekit.observability import install_observability

API_PREFIX = "/api/v1"
SERVICE_NAME = "users"


def build_login_throttle(settings: Settings, redis: Redis | None, rejections: Counter | None = None) -> LoginThrottle:
    counter: FailureCounter = RedisFailureCounter(redis) if redis is not None else InMemoryFailureCounter()
    window = settings.login_failure_window_seconds
    return LoginThrottle(
        counter,
        account_rule=ThrottleRule("account", settings.login_max_failures_per_account, window),
        client_rule=ThrottleRule("client", settings.login_max_failures_per_client, window),
        on_refusal=(lambda rule: rejections.labels(rule).inc()) if rejections is not None else None,
    )


def build_rate_limits(settings: Settings, redis: Redis | None) -> RateLimits:
    """The account flows' limits (``app.services.limits.Limit``), in the login throttle's store."""
    counter: FailureCounter = RedisFailureCounter(redis) if redis is not None else InMemoryFailureCounter()
    window = settings.rate_limit_window_seconds
    return RateLimits(
        counter,
        {
            Limit.REGISTRATION_PER_CLIENT: (settings.registrations_per_client, window),
            Limit.REFRESH_PER_FAMILY: (settings.refreshes_per_family, window),
            Limit.VERIFICATION_PER_ACCOUNT: (settings.verification_emails_per_account, window),
            Limit.RESET_REQUEST_PER_ACCOUNT: (settings.password_resets_per_account, window),
            Limit.RESET_REQUEST_PER_CLIENT: (settings.password_resets_per_client, window),
            Limit.RESET_PER_ACCOUNT: (settings.password_resets_per_account, window),
            Limit.RESET_PER_CLIENT: (settings.password_resets_per_client, window),
        },
    )


def login_throttle_rejections(registry: CollectorRegistry) -> Counter:
    return Counter(
        "login_throttle_rejections", "Password attempts refused as over a limit, by rule", ["rule"], registry=registry
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the engine, session factory and throttle store; release them on shutdown."""
    settings = get_settings()
    engine = create_engine(settings, application_name=APPLICATION_NAME)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.read_db = ReadDatabase(engine)
    app.state.login_throttle = build_login_throttle(settings, redis, app.state.login_throttle_rejections)
    app.state.rate_limits = build_rate_limits(settings, redis)
    try:
        await ensure_first_superuser(app.state.session_factory, settings)
        yield
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application. Settings are validated here, so bad configuration stops start-up."""
    settings = settings or get_settings()
    application = service_app(
        settings,
        title="Users service",
        summary="Registration, authentication, profiles, posts and notifications.",
        lifespan=lifespan,
    )
    for module in (users, auth, posts, notifications, admin, health):
        application.include_router(module.router, prefix=API_PREFIX)
    application.include_router(health.router, include_in_schema=False)
    errors.install(application)
    application.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    registry = install_metrics(application, settings=settings, pool=engine_pool(application))
    application.state.login_throttle_rejections = login_throttle_rejections(registry)
    install_observability(application, service_name=SERVICE_NAME, settings=settings)
    application.add_middleware(RequestIdMiddleware)
    return application


app = create_app()
