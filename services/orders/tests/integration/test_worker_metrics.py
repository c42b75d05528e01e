"""The worker's metrics on real PostgreSQL: jobs counted by outcome, the queue's state read back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from httpx import AsyncClient
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from app.clients.users import create_users_client
from app.config import Settings, get_settings
from app.jobs import PROCESS_ORDER
from app.queue_worker import keep_queue_metrics_fresh, refresh_queue_metrics, register_order_processing
from app.services.processing import OrderProcessor, sql_unit_of_work
from servicekit.database import driver_dsn
from servicekit.metrics import WorkerMetrics
from servicekit.readiness import wait_until
from tests.conftest import TRUNCATE_ALL_TABLES
from tests.support.orders import place_order

pytestmark = pytest.mark.integration

Caller = tuple[int, dict[str, str]]


@pytest.fixture
async def queue(test_engine: AsyncEngine) -> AsyncIterator[QueueManager]:
    """A queue on this worker's database; whatever the test enqueued is truncated afterwards."""
    connection = await asyncpg.connect(driver_dsn(get_settings().database_url))
    try:
        yield QueueManager(Queries.from_asyncpg_connection(connection))
    finally:
        await connection.close()
        async with test_engine.begin() as cleanup:
            await cleanup.execute(TRUNCATE_ALL_TABLES)


async def test_jobs_are_counted_by_outcome(
    live_client: AsyncClient, caller: Caller, queue: QueueManager, test_engine: AsyncEngine, mock_settings: Settings
) -> None:
    await place_order(live_client, caller[1])
    await queue.queries.enqueue(PROCESS_ORDER, b"not-an-order")
    metrics = WorkerMetrics()
    users = create_users_client(mock_settings)
    processor = OrderProcessor(sql_unit_of_work(async_sessionmaker(test_engine)), users)
    register_order_processing(queue, processor, mock_settings, metrics=metrics)

    try:
        await queue.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=0.2), batch_size=5)
    finally:
        await users.aclose()

    sample = metrics.registry.get_sample_value
    assert (sample("jobs_processed_total"), sample("jobs_failed_total"), sample("jobs_retried_total")) == (1, 1, 0)


async def test_the_queue_state_is_its_waiting_jobs_and_the_oldest_ones_age(
    queue: QueueManager, test_engine: AsyncEngine
) -> None:
    metrics = WorkerMetrics()
    await refresh_queue_metrics(test_engine, metrics)
    sample = metrics.registry.get_sample_value
    empty = (sample("job_queue_depth"), sample("job_queue_oldest_age_seconds"))
    await queue.queries.enqueue([PROCESS_ORDER, PROCESS_ORDER], [b"1", b"2"], [0, 0])
    async with test_engine.begin() as connection:
        await connection.exec_driver_sql(
            "UPDATE pgqueuer SET created = now() - interval '90 seconds' WHERE payload = '1'"
        )

    await refresh_queue_metrics(test_engine, metrics)

    assert empty == (0, 0)
    assert sample("job_queue_depth") == 2
    assert 90 <= (sample("job_queue_oldest_age_seconds") or 0) < 120


async def test_a_failed_read_is_logged_and_the_gauges_keep_their_values(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = WorkerMetrics()
    metrics.queue_depth.set(3)
    unreachable = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/orders")

    async def warned() -> bool:
        return any("could not read the queue's state" in record.message for record in caplog.records)

    with caplog.at_level(logging.WARNING, logger="app.queue_worker"):
        refreshing = asyncio.create_task(keep_queue_metrics_fresh(unreachable, metrics, interval_seconds=0.05))
        try:
            await wait_until(warned, deadline_seconds=10, describe="the warning")
        finally:
            refreshing.cancel()
            await asyncio.gather(refreshing, return_exceptions=True)
            await unreachable.dispose()

    assert metrics.registry.get_sample_value("job_queue_depth") == 3
    assert refreshing.cancelled()
