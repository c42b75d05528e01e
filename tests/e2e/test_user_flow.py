"""The seed's user flow against the real users process: register, login, me, update, logout."""

from __future__ import annotations

import pytest

from tests.e2e.flows import Clients

pytestmark = pytest.mark.e2e


def test_complete_user_registration_and_login_flow(clients: Clients) -> None:
    account = clients.register_and_login()

    me = clients.users.get("/users/me", headers=account.headers)
    updated = clients.users.patch(
        f"/users/{account.id}", json={"username": f"renamed_{account.id}"}, headers=account.headers
    )
    logout = clients.users.post("/auth/logout", headers=account.headers)
    after_logout = clients.users.get("/users/me", headers=account.headers)

    assert (me.status_code, me.json()["id"], me.json()["email"]) == (200, account.id, account.email)
    assert (updated.status_code, updated.json()["username"]) == (200, f"renamed_{account.id}")
    assert logout.status_code == 200
    assert after_logout.status_code == 401
    assert after_logout.json()["code"] == "invalid_token"
