"""The seed's API tests: the HTTP surface of users and login, on real PostgreSQL."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import User
from app.utils.jwt import create_access_token
from app.utils.password import hash_password


@pytest.mark.integration
class TestUserAPI:
    async def test_create_user_endpoint(self, client: AsyncClient) -> None:
        user_data = {"email": "newuser@example.com", "username": "newuser", "password": "SecurePass123!"}

        response = await client.post("/api/v1/users", json=user_data)

        assert response.status_code == 201
        data = response.json()
        assert data["email"] == user_data["email"]
        assert data["username"] == user_data["username"]
        assert "id" in data
        assert "created_at" in data
        assert "password" not in data
        assert "hashed_password" not in data

    async def test_create_user_duplicate_email(self, client: AsyncClient, db_session: AsyncSession) -> None:
        existing_user = User(email="duplicate@example.com", username="existing", hashed_password="hashed")
        db_session.add(existing_user)
        await db_session.commit()
        user_data = {"email": "duplicate@example.com", "username": "newuser", "password": "SecurePass123!"}

        response = await client.post("/api/v1/users", json=user_data)

        assert response.status_code == 409
        assert "already exists" in response.json()["detail"]
        assert response.json()["code"] == "user_already_exists"

    async def test_get_user_by_id(self, client: AsyncClient, db_session: AsyncSession) -> None:
        user = User(email="getuser@example.com", username="getuser", hashed_password="hashed")
        db_session.add(user)
        await db_session.commit()
        await db_session.refresh(user)

        response = await client.get(f"/api/v1/users/{user.id}")

        assert response.status_code == 200
        data = response.json()
        assert data["id"] == user.id
        assert data["email"] == user.email
        assert "hashed_password" not in data

    async def test_login_success(self, client: AsyncClient, db_session: AsyncSession) -> None:
        user = User(email="login@example.com", username="loginuser", hashed_password=hash_password("SecurePass123!"))
        db_session.add(user)
        await db_session.commit()
        login_data = {"email": "login@example.com", "password": "SecurePass123!"}

        response = await client.post("/api/v1/auth/login", json=login_data)

        assert response.status_code == 200
        data = response.json()
        assert "access_token" in data
        assert "refresh_token" in data
        assert data["token_type"] == "bearer"
        assert data["expires_in"] > 0

    async def test_protected_endpoint_requires_auth(self, client: AsyncClient) -> None:
        response = await client.get("/api/v1/users/me")

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_protected_endpoint_with_auth(self, client: AsyncClient, db_session: AsyncSession) -> None:
        user = User(
            email="protected@example.com", username="protecteduser", hashed_password=hash_password("SecurePass123!")
        )
        db_session.add(user)
        await db_session.commit()
        await db_session.refresh(user)
        token = create_access_token({"sub": str(user.id)})

        response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})

        assert response.status_code == 200
        assert response.json()["email"] == user.email
