"""GET /orders/{id}, GET /orders and POST /orders/{id}/cancel on real PostgreSQL."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.order import OrderStatus
from app.repositories.order_repository import OrderRepository
from tests.support.orders import ORDERS, place_order
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.integration

Caller = tuple[int, dict[str, str]]


async def test_owner_reads_the_order_as_it_was_placed(client: AsyncClient, caller: Caller) -> None:
    placed = await place_order(client, caller[1])

    response = await client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])

    assert response.status_code == 200
    assert response.json() == placed


async def test_another_users_order_is_not_found(
    client: AsyncClient, caller: Caller, users_service: FakeUsersService
) -> None:
    placed = await place_order(client, caller[1])
    _, other_token = users_service.add_user()

    response = await client.get(f"{ORDERS}/{placed['id']}", headers=users_service.headers(other_token))

    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"


async def test_unknown_order_is_not_found(client: AsyncClient, caller: Caller) -> None:
    response = await client.get(f"{ORDERS}/9223372036854775807", headers=caller[1])

    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"


@pytest.mark.parametrize("order_id", ["0", "-1", "1.0", "abc", "9223372036854775808"])
async def test_malformed_order_id_is_422(client: AsyncClient, caller: Caller, order_id: str) -> None:
    response = await client.get(f"{ORDERS}/{order_id}", headers=caller[1])

    assert response.status_code == 422


async def test_list_is_the_callers_own_newest_first_in_pages(
    client: AsyncClient, caller: Caller, users_service: FakeUsersService
) -> None:
    placed = [await place_order(client, caller[1]) for _ in range(3)]
    _, other_token = users_service.add_user()
    await place_order(client, users_service.headers(other_token))

    first = await client.get(ORDERS, params={"limit": 2}, headers=caller[1])
    second = await client.get(ORDERS, params={"limit": 2, "offset": 2}, headers=caller[1])

    assert first.status_code == 200
    assert [order["id"] for order in first.json()["items"]] == [placed[2]["id"], placed[1]["id"]]
    assert (first.json()["limit"], first.json()["offset"], first.json()["next_offset"]) == (2, 0, 2)
    assert [order["id"] for order in second.json()["items"]] == [placed[0]["id"]]
    assert second.json()["next_offset"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
async def test_page_bounds_are_enforced(client: AsyncClient, caller: Caller, params: dict[str, object]) -> None:
    response = await client.get(ORDERS, params=params, headers=caller[1])

    assert response.status_code == 422


async def test_owner_cancels_a_pending_order(client: AsyncClient, caller: Caller) -> None:
    placed = await place_order(client, caller[1])

    response = await client.post(f"{ORDERS}/{placed['id']}/cancel", headers=caller[1])

    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "cancelled"
    assert [entry["status"] for entry in order["status_history"]] == ["pending", "cancelled"]
    assert order["updated_at"] >= placed["updated_at"]


async def test_cancelling_twice_is_409(client: AsyncClient, caller: Caller) -> None:
    placed = await place_order(client, caller[1])
    await client.post(f"{ORDERS}/{placed['id']}/cancel", headers=caller[1])

    response = await client.post(f"{ORDERS}/{placed['id']}/cancel", headers=caller[1])

    assert response.status_code == 409
    assert response.json()["code"] == "order_not_cancellable"


@pytest.mark.parametrize("final", [OrderStatus.CONFIRMED, OrderStatus.REJECTED])
async def test_a_processed_order_cannot_be_cancelled(
    client: AsyncClient, caller: Caller, db_session: AsyncSession, final: OrderStatus
) -> None:
    placed = await place_order(client, caller[1])
    assert await OrderRepository(db_session).finish_pending(placed["id"], final, reason="because")

    response = await client.post(f"{ORDERS}/{placed['id']}/cancel", headers=caller[1])

    assert response.status_code == 409
    assert final.value in response.json()["detail"]
    order = (await client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])).json()
    assert [entry["status"] for entry in order["status_history"]] == ["pending", final.value]


async def test_another_users_order_cannot_be_cancelled(
    client: AsyncClient, caller: Caller, users_service: FakeUsersService
) -> None:
    placed = await place_order(client, caller[1])
    _, other_token = users_service.add_user()

    response = await client.post(f"{ORDERS}/{placed['id']}/cancel", headers=users_service.headers(other_token))

    assert response.status_code == 404
    order = (await client.get(f"{ORDERS}/{placed['id']}", headers=caller[1])).json()
    assert order["status"] == "pending"


@pytest.mark.parametrize(("method", "path"), [("GET", ORDERS), ("GET", f"{ORDERS}/1"), ("POST", f"{ORDERS}/1/cancel")])
async def test_every_endpoint_is_503_while_the_users_service_cannot_answer(
    client: AsyncClient, caller: Caller, users_service: FakeUsersService, method: str, path: str
) -> None:
    users_service.failing_with = 502

    response = await client.request(method, path, headers=caller[1])

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()


@pytest.mark.parametrize(("method", "path"), [("GET", ORDERS), ("GET", f"{ORDERS}/1"), ("POST", f"{ORDERS}/1/cancel")])
async def test_every_endpoint_refuses_a_revoked_token(
    client: AsyncClient, users_service: FakeUsersService, method: str, path: str
) -> None:
    _, token = users_service.add_user()
    users_service.revoke(token)

    response = await client.request(method, path, headers=users_service.headers(token))

    assert response.status_code == 401
