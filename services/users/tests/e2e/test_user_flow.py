"""The seed's end-to-end flow through the whole app, in process."""

from __future__ import annotations

import pytest
from httpx import AsyncClient


@pytest.mark.e2e
@pytest.mark.slow
class TestUserFlow:
    async def test_complete_user_registration_and_login_flow(self, client: AsyncClient) -> None:
        """Register -> login -> access protected resource -> update -> logout -> token refused."""
        user_data = {"email": "e2e@example.com", "username": "e2euser", "password": "SecurePass123!"}
        register_response = await client.post("/api/v1/users", json=user_data)
        assert register_response.status_code == 201
        user_id = register_response.json()["id"]

        login_data = {"email": user_data["email"], "password": user_data["password"]}
        login_response = await client.post("/api/v1/auth/login", json=login_data)
        assert login_response.status_code == 200
        tokens = login_response.json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}

        profile_response = await client.get("/api/v1/users/me", headers=headers)
        assert profile_response.status_code == 200
        profile = profile_response.json()
        assert profile["id"] == user_id
        assert profile["email"] == user_data["email"]

        update_response = await client.patch(
            f"/api/v1/users/{user_id}", json={"username": "updated_username"}, headers=headers
        )
        assert update_response.status_code == 200
        assert update_response.json()["username"] == "updated_username"

        logout_response = await client.post("/api/v1/auth/logout", headers=headers)
        assert logout_response.status_code == 200

        invalid_response = await client.get("/api/v1/users/me", headers=headers)
        assert invalid_response.status_code == 401
        refresh_response = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh_response.status_code == 401
