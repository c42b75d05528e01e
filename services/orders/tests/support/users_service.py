"""The users service faked at the HTTP boundary (respx): tokens, users, and outages."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import httpx
import respx

USERS_SERVICE_URL = "http://users-service.test"
_INVALID_TOKEN = {"detail": "Invalid or expired token", "code": "invalid_token"}
_USER_NOT_FOUND = {"detail": "User not found", "code": "user_not_found"}


@dataclass
class FakeUsersService:
    """Answers ``GET /api/v1/users/me`` and ``GET /api/v1/users/{id}`` like the users service."""

    router: respx.MockRouter
    tokens: dict[str, int] = field(default_factory=dict)
    users: set[int] = field(default_factory=set)
    #: While set, every call fails with this status (e.g. 503) instead of being answered.
    failing_with: int | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def __post_init__(self) -> None:
        self.me_route = self.router.get("/api/v1/users/me").mock(side_effect=self._me)
        self.user_route = self.router.get(path__regex=r"^/api/v1/users/(?P<user_id>\d+)$").mock(side_effect=self._user)

    def add_user(self) -> tuple[int, str]:
        """A new user and a valid token of theirs."""
        user_id = next(self._ids)
        token = f"token-of-{user_id}"
        self.users.add(user_id)
        self.tokens[token] = user_id
        return user_id, token

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def revoke(self, token: str) -> None:
        del self.tokens[token]

    def delete_user(self, user_id: int) -> None:
        self.users.discard(user_id)

    def _me(self, request: httpx.Request) -> httpx.Response:
        if self.failing_with is not None:
            return httpx.Response(self.failing_with, json={"detail": "down", "code": "service_unavailable"})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        user_id = self.tokens.get(token)
        if user_id is None:
            return httpx.Response(401, json=_INVALID_TOKEN, headers={"WWW-Authenticate": "Bearer"})
        return _json(200, {"id": user_id, "email": f"user{user_id}@example.com", "username": f"user{user_id}"})

    def _user(self, request: httpx.Request, user_id: str) -> httpx.Response:
        if self.failing_with is not None:
            return httpx.Response(self.failing_with, json={"detail": "down", "code": "service_unavailable"})
        if int(user_id) not in self.users:
            return _json(404, _USER_NOT_FOUND)
        return _json(200, {"id": int(user_id), "username": f"user{user_id}", "created_at": "2024-01-01T00:00:00Z"})


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
