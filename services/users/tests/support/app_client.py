"""servicekit's app client helpers (:mod:`servicekit.testing.app_client`) bound to the users app."""

from __future__ import annotations

from httpx import Response

from app.main import create_app
from servicekit.testing import app_client


async def response_when_a_route_raises(error: BaseException) -> Response:
    """What a fresh app answers when a route raises ``error`` (exceptions not re-raised)."""
    return await app_client.response_when_a_route_raises(create_app(), error)
