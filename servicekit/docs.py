"""``/docs`` (Swagger UI) and ``/redoc`` served with no request leaving the service.

FastAPI's own pages load their scripts from a public CDN and their favicon from FastAPI's site,
so they are blank behind a firewall. Here the assets come from the ``drf-spectacular-sidecar``
package, which ships Swagger UI and ReDoc builds with their upstream licenses (served beside
them); its Django dependency is never imported: the files are found without importing the
package. Swagger UI's validator badge (a request to validator.swagger.io) is turned off.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH: Final = "/docs-assets"
_ASSETS_PACKAGE: Final = "drf_spectacular_sidecar"


def assets_directory() -> Path:
    """The folder of the packaged Swagger UI and ReDoc builds (and their licenses)."""
    spec = importlib.util.find_spec(_ASSETS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        msg = f"the {_ASSETS_PACKAGE} package (the docs assets) is not installed"
        raise RuntimeError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "static" / _ASSETS_PACKAGE


def install_offline_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url`` from the service's own assets.

    Build the app with ``docs_url=None, redoc_url=None`` (and its ``openapi_url``) first.
    """
    openapi_url = app.openapi_url
    if openapi_url is None:
        msg = "offline docs need the OpenAPI document: build the app with an openapi_url"
        raise ValueError(msg)
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    oauth2_redirect_url = f"{docs_url}/oauth2-redirect"
    swagger_parameters = {"validatorUrl": None, **(app.swagger_ui_parameters or {})}

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/swagger-ui-dist/favicon-32x32.png",
            swagger_ui_parameters=swagger_parameters,
        )

    async def swagger_ui_oauth2_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc/bundles/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/swagger-ui-dist/favicon-32x32.png",
            with_google_fonts=False,
        )

    app.add_route(docs_url, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route(oauth2_redirect_url, swagger_ui_oauth2_redirect, methods=["GET"], include_in_schema=False)
    app.add_route(redoc_url, redoc, methods=["GET"], include_in_schema=False)
