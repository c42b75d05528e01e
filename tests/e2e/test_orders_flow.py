"""Orders across the two services: placed with a users-service token, confirmed by the worker."""

from __future__ import annotations

import pytest

from tests.e2e.flows import Clients, final_entries

pytestmark = pytest.mark.e2e


def test_an_order_is_confirmed_by_the_worker(clients: Clients) -> None:
    account = clients.register_and_login()

    placed = clients.place_order(account, quantity=2)
    final = clients.wait_until_final(account, placed["id"])

    assert (placed["status"], placed["user_id"], placed["total"]) == ("pending", account.id, "19.98")
    assert final["status"] == "confirmed"
    assert [entry["status"] for entry in final["status_history"]] == ["pending", "confirmed"]


def test_a_token_logged_out_at_the_users_service_is_refused_by_orders(clients: Clients) -> None:
    account = clients.register_and_login()
    placed = clients.place_order(account)

    assert clients.users.post("/auth/logout", headers=account.headers).status_code == 200
    refused_read = clients.orders.get(f"/orders/{placed['id']}", headers=account.headers)
    refused_order = clients.orders.post(
        "/orders", json={"items": [{"sku": "A", "quantity": 1, "unit_price": "1.00"}]}, headers=account.headers
    )

    assert (refused_read.status_code, refused_order.status_code) == (401, 401)
    assert refused_order.json()["code"] == "not_authenticated"


def test_orders_of_one_user_are_invisible_to_another(clients: Clients) -> None:
    owner, stranger = clients.register_and_login(), clients.register_and_login()
    placed = clients.place_order(owner)

    response = clients.orders.get(f"/orders/{placed['id']}", headers=stranger.headers)

    assert (response.status_code, response.json()["code"]) == (404, "order_not_found")


def test_each_order_has_exactly_one_final_entry(clients: Clients) -> None:
    account = clients.register_and_login()
    orders = [clients.place_order(account, sku=f"SKU-{index}") for index in range(5)]

    finals = [clients.wait_until_final(account, order["id"]) for order in orders]

    assert [len(final_entries(order)) for order in finals] == [1] * 5
