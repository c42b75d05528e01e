"""The order rules on in-memory ports: totals, idempotency, cancelling, processing."""

from __future__ import annotations

from decimal import Decimal
from unittest.mock import create_autospec

import pytest

from app.clients.users import UsersClient
from app.exceptions import (
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    OrderNotCancellableError,
    OrderNotFoundError,
    UsersServiceUnavailableError,
)
from app.jobs import decode_order_id, encode_order_id
from app.models.order import OrderStatus
from app.services.order_service import OrderService, fingerprint, order_total
from app.services.ports import NewItem
from app.services.processing import REJECTED_REASON, OrderProcessor, Outcome
from tests.unit.fakes import FakeJobQueue, FakeOrderStore, FakeUserDirectory

pytestmark = pytest.mark.unit

BOOKS = [NewItem("BOOK-1", 2, Decimal("9.99"))]


@pytest.fixture
def store() -> FakeOrderStore:
    return FakeOrderStore()


@pytest.fixture
def jobs() -> FakeJobQueue:
    return FakeJobQueue()


@pytest.fixture
def service(store: FakeOrderStore, jobs: FakeJobQueue) -> OrderService:
    return OrderService(store, jobs)


def test_total_is_exact() -> None:
    items = [NewItem("A", 3, Decimal("0.10")), NewItem("B", 1000, Decimal("1000000.00"))]

    assert order_total(items) == Decimal("1000000000.30")


def test_fingerprint_compares_prices_as_values_and_keeps_item_order() -> None:
    assert fingerprint([NewItem("A", 1, Decimal("1.5"))]) == fingerprint([NewItem("A", 1, Decimal("1.50"))])
    two = [NewItem("A", 1, Decimal(1)), NewItem("B", 1, Decimal(1))]
    assert fingerprint(two) != fingerprint(list(reversed(two)))
    assert fingerprint([NewItem("A", 1, Decimal(1))]) != fingerprint([NewItem("A", 2, Decimal(1))])


def test_the_fingerprint_of_a_body_never_changes() -> None:
    """Fingerprints are stored with orders: a new way of computing them would turn a retry sent
    across a deploy, with its key and the same body, into a 422 (another body)."""
    assert fingerprint([NewItem("BOOK-1", 2, Decimal("9.99")), NewItem("PEN", 1, Decimal(1))]) == (
        "3671567e624e3ca38adab9937a21f1c095928690322d5831c7301e4c6815d6ee"
    )


async def test_a_placed_order_is_pending_with_its_job(
    service: OrderService, store: FakeOrderStore, jobs: FakeJobQueue
) -> None:
    order_id = await service.place_order(5, BOOKS, None)

    order = store.orders[order_id]
    assert (order.user_id, order.total, order.items) == (5, Decimal("19.98"), BOOKS)
    assert order.history == [(OrderStatus.PENDING, None)]
    assert jobs.enqueued == [order_id]


async def test_a_repeat_with_the_key_is_the_same_order_and_enqueues_nothing_more(
    service: OrderService, jobs: FakeJobQueue
) -> None:
    first = await service.place_order(5, BOOKS, "k")

    assert await service.place_order(5, BOOKS, "k") == first
    assert jobs.enqueued == [first]


async def test_the_key_with_another_body_is_refused(service: OrderService) -> None:
    await service.place_order(5, BOOKS, "k")

    with pytest.raises(IdempotencyKeyReusedError):
        await service.place_order(5, [NewItem("OTHER", 1, Decimal(1))], "k")


class LosesTheInsertRace(FakeOrderStore):
    """A store where a concurrent request with the same key commits just before this insert."""

    async def insert_order(
        self, user_id: int, total: Decimal, idempotency_key: str | None, fingerprint: str
    ) -> int | None:
        await super().insert_order(user_id, total, idempotency_key, fingerprint)
        return None


async def test_losing_the_insert_race_answers_the_winners_order(jobs: FakeJobQueue) -> None:
    store = LosesTheInsertRace()

    order_id = await OrderService(store, jobs).place_order(5, BOOKS, "k")

    assert list(store.orders) == [order_id]
    assert jobs.enqueued == []


async def test_a_conflict_without_the_winners_order_is_in_flight(jobs: FakeJobQueue) -> None:
    store = create_autospec(FakeOrderStore, instance=True)
    store.find_by_key.return_value = None
    store.insert_order.return_value = None

    with pytest.raises(IdempotencyKeyInFlightError):
        await OrderService(store, jobs).place_order(5, BOOKS, "k")


async def test_cancel_rules(service: OrderService, store: FakeOrderStore) -> None:
    order_id = await service.place_order(5, BOOKS, None)

    with pytest.raises(OrderNotFoundError):
        await service.cancel(order_id, user_id=6)
    await service.cancel(order_id, user_id=5)
    with pytest.raises(OrderNotCancellableError) as raised:
        await service.cancel(order_id, user_id=5)
    assert raised.value.status == OrderStatus.CANCELLED
    with pytest.raises(OrderNotFoundError):
        await service.cancel(999, user_id=5)


async def test_processing_confirms_or_rejects_once(service: OrderService, store: FakeOrderStore) -> None:
    kept = await service.place_order(5, BOOKS, None)
    gone = await service.place_order(6, BOOKS, None)
    processor = OrderProcessor(store.unit_of_work, FakeUserDirectory(existing={5}))

    assert await processor.process(kept) == Outcome.CONFIRMED
    assert await processor.process(gone) == Outcome.REJECTED
    assert await processor.process(kept) == Outcome.ALREADY_FINAL
    assert store.orders[gone].history[-1] == (OrderStatus.REJECTED, REJECTED_REASON)
    assert store.orders[kept].history == [(OrderStatus.PENDING, None), (OrderStatus.CONFIRMED, None)]


async def test_processing_propagates_an_unavailable_users_service(service: OrderService, store: FakeOrderStore) -> None:
    order_id = await service.place_order(5, BOOKS, None)
    users = create_autospec(UsersClient, instance=True)
    users.get_user.side_effect = UsersServiceUnavailableError

    with pytest.raises(UsersServiceUnavailableError):
        await OrderProcessor(store.unit_of_work, users).process(order_id)
    assert store.orders[order_id].status == OrderStatus.PENDING


async def test_an_order_cancelled_during_the_users_call_stays_cancelled(
    service: OrderService, store: FakeOrderStore
) -> None:
    order_id = await service.place_order(5, BOOKS, None)
    users = create_autospec(UsersClient, instance=True)

    async def cancel_meanwhile(user_id: int) -> None:
        await service.cancel(order_id, user_id)

    users.get_user.side_effect = cancel_meanwhile

    assert await OrderProcessor(store.unit_of_work, users).process(order_id) == Outcome.ALREADY_FINAL
    assert [status for status, _ in store.orders[order_id].history] == [OrderStatus.PENDING, OrderStatus.CANCELLED]


@pytest.mark.parametrize("payload", [None, b"", b"abc", b"-1", b"1.5"])
def test_a_job_payload_that_is_not_an_order_id_is_refused(payload: bytes | None) -> None:
    with pytest.raises(ValueError, match="not an order id"):
        decode_order_id(payload)


def test_order_ids_round_trip_through_job_payloads() -> None:
    assert decode_order_id(encode_order_id(9_223_372_036_854_775_807)) == 9_223_372_036_854_775_807
