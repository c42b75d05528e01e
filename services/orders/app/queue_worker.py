"""The worker (started as ``python -m app.worker``): processes accepted orders from pgqueuer.

Each job confirms or rejects one order (``app.services.processing``). While the users service
cannot answer, the job asks pgqueuer for a database-level retry (``RetryRequested``): the job goes
back to the queue with a later ``execute_after``, doubling up to a bound, and survives restarts.
A worker that dies holding a job stops its heartbeat; after ``WORKER_HEARTBEAT_TIMEOUT_SECONDS``
another worker takes the job up again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import timedelta

import asyncpg
from pgqueuer.errors import RetryRequested
from pgqueuer.models import Job
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries

from app.clients.users import create_users_client
from app.config import Settings, get_settings
from app.database import APPLICATION_NAME
from app.exceptions import UsersServiceUnavailableError
from app.jobs import PROCESS_ORDER, decode_order_id
from app.services.processing import OrderProcessor, sql_unit_of_work
from servicekit.database import create_engine, create_session_factory, driver_dsn
from servicekit.observability import ObservabilitySettings, configure_logging

logger = logging.getLogger(__name__)

#: How often an idle worker looks for due jobs besides being notified (retries, stale jobs).
DEQUEUE_POLL_SECONDS = 2.0
#: Written to stdout once the worker handles SIGTERM gracefully: what a supervisor waits for
#: (e.g. mirakuru's ``OutputExecutor(banner=READY_BANNER)``) before it may stop the worker.
READY_BANNER = "orders worker ready"


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """Exponential backoff of a job's retries: initial delay doubling per attempt, bounded."""
    seconds = settings.worker_retry_initial_delay_seconds * 2 ** min(attempts, 16)
    return timedelta(seconds=min(seconds, settings.worker_retry_max_delay_seconds))


def register_order_processing(queue: QueueManager, processor: OrderProcessor, settings: Settings) -> None:
    @queue.entrypoint(PROCESS_ORDER, on_failure="hold")
    async def process_order(job: Job) -> None:
        order_id = decode_order_id(job.payload)
        try:
            outcome = await processor.process(order_id)
        except UsersServiceUnavailableError as error:
            raise RetryRequested(retry_delay(job.attempts, settings), reason=str(error)) from error
        logger.info("order %s: %s", order_id, outcome.value)


async def run_worker(settings: Settings) -> None:
    """Process jobs until SIGINT/SIGTERM (or the task is cancelled)."""
    engine = create_engine(settings, application_name=f"{APPLICATION_NAME}-worker")
    users = create_users_client(settings)
    connection = await asyncpg.connect(driver_dsn(settings.database_url))
    queue = QueueManager(Queries.from_asyncpg_connection(connection))
    processor = OrderProcessor(sql_unit_of_work(create_session_factory(engine)), users)
    register_order_processing(queue, processor, settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, queue.shutdown.set)
    sys.stdout.write(f"{READY_BANNER}\n")
    sys.stdout.flush()
    try:
        await queue.run(
            dequeue_timeout=timedelta(seconds=DEQUEUE_POLL_SECONDS),
            batch_size=settings.worker_concurrency // 2,
            max_concurrent_tasks=settings.worker_concurrency,
            heartbeat_timeout=timedelta(seconds=settings.worker_heartbeat_timeout_seconds),
        )
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await connection.close()
        await users.aclose()
        await engine.dispose()


def main() -> None:
    configure_logging(f"{APPLICATION_NAME}-worker", ObservabilitySettings())
    asyncio.run(run_worker(get_settings()))
