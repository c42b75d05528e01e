"""The worker on real PostgreSQL: jobs enqueued with the order, processed once, retried, rejected."""

from __future__ import annotations

import asyncio
import os
import signal
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest
from httpx import AsyncClient
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clients.users import create_users_client
from app.config import Settings, get_settings
from app.jobs import PgQueuerJobs
from app.models.order import Order, OrderStatus, StatusChange
from app.queue_worker import register_order_processing, retry_delay, run_worker
from app.repositories.order_repository import OrderRepository
from app.services.ports import OrderStore
from app.services.processing import REJECTED_REASON, OrderProcessor, Outcome, UnitOfWork, sql_unit_of_work
from devtools.net import free_port
from servicekit.database import driver_dsn
from servicekit.metrics import WorkerMetrics
from servicekit.readiness import wait_until
from servicekit.testing.metrics import value
from tests.support.orders import place_order
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.integration

Caller = tuple[int, dict[str, str]]


def savepoint_unit_of_work(db_session: AsyncSession) -> UnitOfWork:
    """Units of work inside the test's transaction: each one a savepoint, released on success."""

    @asynccontextmanager
    async def unit_of_work() -> AsyncIterator[OrderStore]:
        async with db_session.begin_nested():
            yield OrderRepository(db_session)

    return unit_of_work


async def history(db_session: AsyncSession, order_id: int) -> list[tuple[str, str | None]]:
    rows = await db_session.execute(
        select(StatusChange.status, StatusChange.reason)
        .where(StatusChange.order_id == order_id)
        .order_by(StatusChange.id)
    )
    return [(row.status, row.reason) for row in rows]


@pytest.fixture
async def processor(db_session: AsyncSession, mock_settings: Settings) -> AsyncIterator[OrderProcessor]:
    users = create_users_client(mock_settings)
    yield OrderProcessor(savepoint_unit_of_work(db_session), users)
    await users.aclose()


async def test_an_existing_users_order_is_confirmed_once(
    client: AsyncClient, caller: Caller, processor: OrderProcessor, db_session: AsyncSession
) -> None:
    order = await place_order(client, caller[1])

    first = await processor.process(order["id"])
    second = await processor.process(order["id"])

    assert (first, second) == (Outcome.CONFIRMED, Outcome.ALREADY_FINAL)
    assert await history(db_session, order["id"]) == [("pending", None), ("confirmed", None)]


async def test_a_missing_users_order_is_rejected_with_its_reason(
    client: AsyncClient,
    caller: Caller,
    users_service: FakeUsersService,
    processor: OrderProcessor,
    db_session: AsyncSession,
) -> None:
    order = await place_order(client, caller[1])
    users_service.delete_user(caller[0])

    outcome = await processor.process(order["id"])

    assert outcome == Outcome.REJECTED
    assert await history(db_session, order["id"]) == [("pending", None), ("rejected", REJECTED_REASON)]
    shown = (await client.get(f"/api/v1/orders/{order['id']}", headers=caller[1])).json()
    assert shown["status_history"][-1]["reason"] == REJECTED_REASON


async def test_a_cancelled_order_is_left_alone(
    client: AsyncClient, caller: Caller, processor: OrderProcessor, db_session: AsyncSession
) -> None:
    order = await place_order(client, caller[1])
    await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=caller[1])

    outcome = await processor.process(order["id"])

    assert outcome == Outcome.ALREADY_FINAL
    assert await history(db_session, order["id"]) == [("pending", None), ("cancelled", None)]


async def test_an_unknown_order_is_nothing_to_do(processor: OrderProcessor) -> None:
    assert await processor.process(123456) == Outcome.NOT_FOUND


async def test_the_database_refuses_a_second_final_status(
    client: AsyncClient, caller: Caller, db_session: AsyncSession
) -> None:
    order = await place_order(client, caller[1])
    orders = OrderRepository(db_session)
    await orders.add_status(order["id"], OrderStatus.CONFIRMED)

    with pytest.raises(Exception, match="uq_order_status_history_final"):
        async with db_session.begin_nested():
            await orders.add_status(order["id"], OrderStatus.CANCELLED)


async def test_the_job_is_enqueued_in_the_orders_transaction(test_engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(test_engine, expire_on_commit=False)
    async with sessions() as session:
        await PgQueuerJobs(session).enqueue_processing(42)
        await session.rollback()
    async with sessions() as session:
        await PgQueuerJobs(session).enqueue_processing(43)
        await session.commit()

    async with test_engine.begin() as connection:
        payloads = (await connection.exec_driver_sql("SELECT payload FROM pgqueuer")).scalars().all()
        await connection.exec_driver_sql("TRUNCATE pgqueuer")
    assert [bytes(payload) for payload in payloads] == [b"43"]


@asynccontextmanager
async def worker_queue(database_url: str) -> AsyncIterator[QueueManager]:
    connection = await asyncpg.connect(driver_dsn(database_url))
    try:
        yield QueueManager(Queries.from_asyncpg_connection(connection))
    finally:
        await connection.close()


async def order_status(test_engine: AsyncEngine, order_id: int) -> str:
    async with test_engine.connect() as connection:
        return str((await connection.execute(select(Order.status).where(Order.id == order_id))).scalar_one())


@pytest.fixture
async def live_processor(test_engine: AsyncEngine, mock_settings: Settings) -> AsyncIterator[OrderProcessor]:
    """What the worker runs: committed units of work, the production users client."""
    users = create_users_client(mock_settings)
    yield OrderProcessor(sql_unit_of_work(async_sessionmaker(test_engine)), users)
    await users.aclose()


async def test_the_worker_processes_committed_orders(
    live_client: AsyncClient,
    caller: Caller,
    test_engine: AsyncEngine,
    database_url: str,
    live_processor: OrderProcessor,
) -> None:
    order = await place_order(live_client, caller[1])

    async with worker_queue(database_url) as queue:
        register_order_processing(queue, live_processor, get_settings(), metrics=WorkerMetrics())
        await queue.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=0.2), batch_size=5)

    assert await order_status(test_engine, order["id"]) == "confirmed"


async def test_an_unreachable_users_service_requeues_the_job_for_later(
    live_client: AsyncClient,
    caller: Caller,
    users_service: FakeUsersService,
    test_engine: AsyncEngine,
    live_processor: OrderProcessor,
) -> None:
    order = await place_order(live_client, caller[1])
    users_service.failing_with = 503
    settings = get_settings().model_copy(update={"worker_retry_initial_delay_seconds": 60})

    async def job_retried() -> bool:
        async with test_engine.connect() as connection:
            return bool((await connection.exec_driver_sql("SELECT attempts FROM pgqueuer")).scalar_one() > 0)

    metrics = WorkerMetrics()
    async with worker_queue(get_settings().database_url) as queue:
        register_order_processing(queue, live_processor, settings, metrics=metrics)
        running = asyncio.create_task(queue.run(dequeue_timeout=timedelta(seconds=0.2)))
        await wait_until(job_retried, deadline_seconds=10, describe="the job's retry")
        queue.shutdown.set()
        await running

    assert await order_status(test_engine, order["id"]) == "pending"
    async with test_engine.connect() as connection:
        job = (
            await connection.exec_driver_sql("SELECT status, attempts, execute_after > now() AS later FROM pgqueuer")
        ).one()
    assert (job.status, job.attempts, job.later) == ("queued", 1, True)
    assert metrics.registry.get_sample_value("jobs_retried_total") == 1
    assert metrics.registry.get_sample_value("jobs_processed_total") == 0


#: A loopback address other than the default one: the worker serves its metrics where it is told.
METRICS_ADDRESS = "127.0.0.2"


@asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[asyncio.Task[None]]:
    """``run_worker`` in a task, stopped by SIGTERM (its own graceful stop) when the block ends."""
    running = asyncio.create_task(run_worker(settings))
    try:
        yield running
    finally:
        if not running.done():  # a worker that failed to start has no handler: the signal would end the tests
            os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(running, timeout=15)


async def wait_until_confirmed(test_engine: AsyncEngine, order_id: int, running: asyncio.Task[None]) -> None:
    """Until the worker confirmed the order, or stopped (then the block's end raises its error)."""

    async def confirmed_or_stopped() -> bool:
        return running.done() or await order_status(test_engine, order_id) == "confirmed"

    await wait_until(confirmed_or_stopped, deadline_seconds=15, describe="the order's confirmation")


async def test_run_worker_processes_orders_until_sigterm(
    live_client: AsyncClient, caller: Caller, test_engine: AsyncEngine, mock_settings: Settings
) -> None:
    order = await place_order(live_client, caller[1])
    mock_settings.worker_metrics_port = free_port()
    mock_settings.worker_metrics_address = METRICS_ADDRESS

    async with worker_running(mock_settings) as running:
        await wait_until_confirmed(test_engine, order["id"], running)
        exposition = await asyncio.to_thread(scrape, METRICS_ADDRESS, mock_settings.worker_metrics_port)

    assert await order_status(test_engine, order["id"]) == "confirmed"
    assert value(exposition, "jobs_processed_total") == 1
    with pytest.raises(urllib.error.URLError, match="Connection refused"):  # its metrics server is gone with it
        scrape(METRICS_ADDRESS, mock_settings.worker_metrics_port)


def scrape(address: str, port: int) -> str:
    """A worker's exposition (urllib: respx holds httpx to the users service's fake)."""
    with urllib.request.urlopen(f"http://{address}:{port}/metrics", timeout=5.0) as response:
        return str(response.read().decode())


async def test_run_worker_takes_up_a_job_whose_worker_stopped_beating(
    live_client: AsyncClient, caller: Caller, test_engine: AsyncEngine, mock_settings: Settings
) -> None:
    """A job held by a worker that died (no heartbeat for 10 s) is taken up again once its
    heartbeat is older than WORKER_HEARTBEAT_TIMEOUT_SECONDS (pgqueuer's default would wait 30 s)."""
    order = await place_order(live_client, caller[1])
    async with test_engine.begin() as connection:
        await connection.exec_driver_sql(
            "UPDATE pgqueuer SET status = 'picked', heartbeat = NOW() - INTERVAL '10 seconds'"
        )
    mock_settings.worker_heartbeat_timeout_seconds = 2

    async with worker_running(mock_settings) as running:
        await wait_until_confirmed(test_engine, order["id"], running)

    assert await order_status(test_engine, order["id"]) == "confirmed"


def test_retry_delays_double_up_to_the_bound(mock_settings: Settings) -> None:
    mock_settings.worker_retry_initial_delay_seconds = 1
    mock_settings.worker_retry_max_delay_seconds = 10

    assert [retry_delay(attempts, mock_settings).total_seconds() for attempts in range(6)] == [1, 2, 4, 8, 10, 10]
