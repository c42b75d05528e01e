"""Application factory. ``app`` is built at import; connections are made only in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import errors, health, orders
from app.clients.users import create_users_client
from app.config import Settings, get_settings
from app.database import APPLICATION_NAME
from servicekit.application import service_app
from servicekit.database import ReadDatabase, create_engine, create_session_factory
from servicekit.metrics import engine_pool, install_metrics
from servicekit.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from servicekit.observability import install_observability

API_PREFIX = "/api/v1"
SERVICE_NAME = "orders"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the engine, session factory and the users client; release them on shutdown."""
    settings = get_settings()
    engine = create_engine(settings, application_name=APPLICATION_NAME)
    users_client = create_users_client(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.read_db = ReadDatabase(engine)
    app.state.users_client = users_client
    try:
        yield
    finally:
        await users_client.aclose()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application. Settings are validated here, so bad configuration stops start-up."""
    settings = settings or get_settings()
    application = service_app(
        settings,
        title="Orders service",
        summary="Orders of the users service's users, confirmed asynchronously by a worker.",
        lifespan=lifespan,
    )
    for module in (orders, health):
        application.include_router(module.router, prefix=API_PREFIX)
    errors.install(application)
    application.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    install_metrics(application, settings=settings, pool=engine_pool(application))
    install_observability(application, service_name=SERVICE_NAME, settings=settings)
    application.add_middleware(RequestIdMiddleware)
    return application


app = create_app()
