"""A service's FastAPI application, built alike: the OpenAPI document and offline docs unless off."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from servicekit.docs import install_offline_docs
from servicekit.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

__all__ = ["Lifespan", "service_app"]


def service_app(settings: ServiceSettings, *, title: str, summary: str, lifespan: Lifespan) -> FastAPI:
    """An application with ``/openapi.json``, ``/docs`` and ``/redoc`` (served offline, see
    :mod:`servicekit.docs`) when ``settings.serve_docs``, and none of them otherwise.

    The service adds its routers, error handlers and middleware.
    """
    docs = settings.serve_docs
    application = FastAPI(
        title=title,
        version="1.0.0",
        summary=summary,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    if docs:
        install_offline_docs(application)
    return application
