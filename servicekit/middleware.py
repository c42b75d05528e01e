"""Pure ASGI middleware (no per-request task or body buffering): request ids and body limits."""

from __future__ import annotations

import re
import uuid

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.errors import ErrorResponse

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


def _header(scope: Scope, name: bytes) -> bytes | None:
    """One request header, read straight from the ASGI scope (names arrive lower-cased)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestIdMiddleware:
    """Tags every request with an id (a client's own if it is safe) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # API responses carry tokens and personal data: never cached unless a route says otherwise.
        extra_headers = {
            b"x-request-id": request_id.encode(),
            b"x-content-type-options": b"nosniff",
            b"cache-control": b"no-store",
        }

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra_headers.items() if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413, whether declared up front or streamed.

    Not FastAPI's ``max_body_size``: that one answers a declared oversize body with a plain-text
    413, and every error of this service has the same JSON body with a stable code.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, counting_receive, send)

    @property
    def _too_large_detail(self) -> str:
        return f"Request body exceeds {self.max_bytes} bytes"

    def _too_large(self) -> HTTPException:
        return HTTPException(status_code=413, detail=self._too_large_detail)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """Answer without reading the body (or running the app) at all."""
        body = ErrorResponse(
            detail=self._too_large_detail,
            code="payload_too_large",
            request_id=scope.get("state", {}).get("request_id"),
        )
        response = JSONResponse(body.model_dump(exclude_none=True), status_code=413, headers={"Connection": "close"})
        await response(scope, self._no_body, send)

    @staticmethod
    async def _no_body() -> Message:
        return {"type": "http.disconnect"}
