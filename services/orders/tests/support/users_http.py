"""A stand-in users service over real HTTP, for tests that run the worker as a process.

It answers ``GET /api/v1/users/{id}`` for the users it knows (404 for the others, 503 for those in
``failing``); ``hold()`` makes those requests wait until ``release()``, which is how a test keeps
a job in a worker's hands.
"""

from __future__ import annotations

import asyncio
import threading

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class UsersStandIn:
    def __init__(self) -> None:
        self.users: set[int] = set()
        self.failing: set[int] = set()
        self.requests: list[int] = []
        self._released = threading.Event()
        self._released.set()
        self.app = Starlette(routes=[Route("/api/v1/users/{user_id:int}", self._user)])

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    async def _user(self, request: Request) -> JSONResponse:
        user_id = int(request.path_params["user_id"])
        self.requests.append(user_id)
        await asyncio.to_thread(self._released.wait)
        if user_id in self.failing:
            return JSONResponse({"detail": "unavailable", "code": "service_unavailable"}, status_code=503)
        if user_id not in self.users:
            return JSONResponse({"detail": "User not found", "code": "user_not_found"}, status_code=404)
        return JSONResponse({"id": user_id, "username": f"user{user_id}"})
