"""An HTTP endpoint for Pact's provider-state change requests, for ``Verifier.state_handler(url)``.

pact-python 4.2 can call a Python function itself (``state_handler(function)``), but the server
it starts for that is shut down without being closed, and its listening socket then leaks a
``ResourceWarning`` (an error under this suite's ``filterwarnings = error``). This endpoint is
the same idea, closed properly: the verifier POSTs ``{"state", "action", "params"}`` as JSON
before (``setup``) and after (``teardown``) each interaction, and the handler is called with them
on this server's thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any, Self

StateHandler = Callable[[str, str, dict[str, Any]], None]
STATE_CHANGE_PATH = "/_pact/state"


class _StateChangeRequestHandler(BaseHTTPRequestHandler):
    server: _StateChangeHttpServer

    def do_POST(self) -> None:
        if self.path != STATE_CHANGE_PATH:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        length = int(self.headers.get("Content-Length") or 0)
        change = json.loads(self.rfile.read(length) or b"{}")
        try:
            self.server.state_handler(str(change.get("state", "")), str(change["action"]), change.get("params") or {})
        except Exception as error:  # noqa: BLE001 - reported to the verifier and kept for the test
            self.server.errors.append(error)
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR, explain=f"{type(error).__name__}: {error}")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the verifier's own output says which states were set up."""


class _StateChangeHttpServer(HTTPServer):
    def __init__(self, state_handler: StateHandler) -> None:
        super().__init__(("127.0.0.1", 0), _StateChangeRequestHandler)
        self.state_handler = state_handler
        self.errors: list[Exception] = []


class StateChangeServer:
    """Serves ``handler(state, action, params)`` at :attr:`url` for the duration of a ``with``."""

    def __init__(self, handler: StateHandler) -> None:
        self._handler = handler
        self._server: _StateChangeHttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def _running(self) -> _StateChangeHttpServer:
        if self._server is None:
            msg = "the state change server is not running: use it in a `with` block"
            raise RuntimeError(msg)
        return self._server

    @property
    def url(self) -> str:
        host, port = self._running.server_address[:2]
        return f"http://{host!s}:{port}{STATE_CHANGE_PATH}"

    @property
    def errors(self) -> list[Exception]:
        """Exceptions the handler raised (each also failed its interaction in the verifier)."""
        return self._running.errors

    def __enter__(self) -> Self:
        self._server = _StateChangeHttpServer(self._handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="pact-state-changes", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        server, thread = self._running, self._thread
        server.shutdown()
        if thread is not None:
            thread.join()
        server.server_close()
