"""The worker (started as ``python -m app.worker``): processes accepted orders from pgqueuer.

Each job confirms or rejects one order (``app.services.processing``). While the users service
cannot answer, the job asks pgqueuer for a database-level retry (``RetryRequested``): the job goes
back to the queue with a later ``execute_after``, doubling up to a bound, and survives restarts.
A worker that dies holding a job stops its heartbeat; after ``WORKER_HEARTBEAT_TIMEOUT_SECONDS``
another worker takes the job up again. On SIGTERM the worker takes no new job and finishes the
ones in hand (each is bounded: a users call gives up after ``USERS_DEADLINE_SECONDS`` and the job
is released for a retry) before it exits.

With ``WORKER_METRICS_PORT`` set, the worker serves its own ``/metrics`` (prometheus_client):
jobs processed, failed and retried, and the queue's depth and oldest job's age, read every
``WORKER_QUEUE_METRICS_INTERVAL_SECONDS``.
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
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clients.users import create_users_client
from app.config import Settings, get_settings
from app.database import APPLICATION_NAME
from app.exceptions import UsersServiceUnavailableError
from app.jobs import PROCESS_ORDER, decode_order_id
from app.services.processing import OrderProcessor, sql_unit_of_work
from servicekit.database import create_engine, create_session_factory, driver_dsn
from servicekit.metrics import WorkerMetrics, serve_metrics
from servicekit.observability import configure_logging

logger = logging.getLogger(__name__)

#: How often an idle worker looks for due jobs besides being notified (retries, stale jobs).
DEQUEUE_POLL_SECONDS = 2.0
#: Written to stdout once the worker handles SIGTERM gracefully: what a supervisor waits for
#: (e.g. mirakuru's ``OutputExecutor(banner=READY_BANNER)``) before it may stop the worker.
READY_BANNER = "orders worker ready"
#: Jobs waiting (a retried job waits too, until its ``execute_after``) and the oldest one's age.
_QUEUE_STATE = text(
    "SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created)), 0) AS oldest_age"
    " FROM pgqueuer WHERE status = 'queued'"
)


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """Exponential backoff of a job's retries: initial delay doubling per attempt, bounded."""
    seconds = settings.worker_retry_initial_delay_seconds * 2 ** min(attempts, 16)
    return timedelta(seconds=min(seconds, settings.worker_retry_max_delay_seconds))


def register_order_processing(
    queue: QueueManager, processor: OrderProcessor, settings: Settings, *, metrics: WorkerMetrics
) -> None:
    @queue.entrypoint(PROCESS_ORDER, on_failure="hold")
    async def process_order(job: Job) -> None:
        try:
            order_id = decode_order_id(job.payload)
            outcome = await processor.process(order_id)
        except UsersServiceUnavailableError as error:
            metrics.retried.inc()
            raise RetryRequested(retry_delay(job.attempts, settings), reason=str(error)) from error
        except Exception:
            metrics.failed.inc()  # held by pgqueuer (on_failure="hold"), its traceback logged
            raise
        metrics.processed.inc()
        logger.info("order %s: %s", order_id, outcome.value)


async def refresh_queue_metrics(engine: AsyncEngine, metrics: WorkerMetrics) -> None:
    async with engine.connect() as connection:
        state = (await connection.execute(_QUEUE_STATE)).one()
    metrics.queue_depth.set(state.depth)
    metrics.oldest_job_age.set(float(state.oldest_age))


async def keep_queue_metrics_fresh(engine: AsyncEngine, metrics: WorkerMetrics, interval_seconds: float) -> None:
    """Read the queue's state every ``interval_seconds`` until cancelled; a failed read is logged
    and the gauges keep their last values (the database may come back)."""
    while True:
        try:
            await refresh_queue_metrics(engine, metrics)
        except (SQLAlchemyError, OSError) as error:
            logger.warning("could not read the queue's state: %s", error)
        await asyncio.sleep(interval_seconds)


def _stop(queue: QueueManager) -> None:
    logger.info("stopping: no new job is taken, the %d in hand are finished first", len(queue.job_context))
    queue.shutdown.set()


async def run_worker(settings: Settings) -> None:
    """Process jobs until SIGINT/SIGTERM (or the task is cancelled); jobs in hand are finished."""
    engine = create_engine(settings, application_name=f"{APPLICATION_NAME}-worker")
    users = create_users_client(settings)
    connection = await asyncpg.connect(driver_dsn(settings.database_url))
    queue = QueueManager(Queries.from_asyncpg_connection(connection))
    processor = OrderProcessor(sql_unit_of_work(create_session_factory(engine)), users)
    metrics = WorkerMetrics()
    register_order_processing(queue, processor, settings, metrics=metrics)
    port = settings.worker_metrics_port
    served = serve_metrics(metrics.registry, port, settings.worker_metrics_address) if port is not None else None
    refresher = asyncio.create_task(
        keep_queue_metrics_fresh(engine, metrics, settings.worker_queue_metrics_interval_seconds)
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop, queue)
    sys.stdout.write(f"{READY_BANNER}\n")
    sys.stdout.flush()
    try:
        # Once shutdown is set, run() takes no new job and returns when the jobs in hand are done.
        await queue.run(
            dequeue_timeout=timedelta(seconds=DEQUEUE_POLL_SECONDS),
            batch_size=settings.worker_concurrency // 2,
            max_concurrent_tasks=settings.worker_concurrency,
            heartbeat_timeout=timedelta(seconds=settings.worker_heartbeat_timeout_seconds),
        )
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)
        if served is not None:
            server, thread = served
            server.shutdown()
            server.server_close()
            thread.join()
        await connection.close()
        await users.aclose()
        await engine.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging(f"{APPLICATION_NAME}-worker", settings)
    asyncio.run(run_worker(settings))
