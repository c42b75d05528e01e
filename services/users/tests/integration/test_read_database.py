"""The read side: queries outside any transaction in service, inside the test's in tests."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app.database import ReadDatabase
from app.repositories.user_repository import UserQueries
from tests.factories import UserFactory


@pytest.mark.integration
class TestReadDatabase:
    async def test_service_reads_run_in_autocommit_without_a_transaction(self, database_url: str) -> None:
        engine = create_async_engine(database_url)
        try:
            async with ReadDatabase(engine).driver_connection() as driver:
                await driver.fetchval("SELECT 1")

                assert driver.is_in_transaction() is False
        finally:
            await engine.dispose()

    async def test_connection_bound_reads_see_uncommitted_data(
        self, db_connection: AsyncConnection, db_session: AsyncSession
    ) -> None:
        user = await UserFactory.create(db_session)

        profile = await UserQueries(ReadDatabase(connection=db_connection)).get_public_profile(user.id)

        assert profile is not None
        assert profile.email == user.email

    async def test_requires_exactly_one_source(self, test_engine: AsyncEngine, db_connection: AsyncConnection) -> None:
        with pytest.raises(ValueError, match="exactly one"):
            ReadDatabase()
        with pytest.raises(ValueError, match="exactly one"):
            ReadDatabase(test_engine, connection=db_connection)

    async def test_profile_read_through_the_live_service(self, live_client: AsyncClient) -> None:
        created = await live_client.post(
            "/api/v1/users", json={"email": "reader@example.com", "username": "reader", "password": "SecurePass123!"}
        )

        response = await live_client.get(f"/api/v1/users/{created.json()['id']}")

        assert response.status_code == 200
        assert response.json()["email"] == "reader@example.com"
