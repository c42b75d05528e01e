"""The worker as real processes (``python -m app.worker``): killed mid-job, stopped mid-job, two
at once, and its metrics scraped after real jobs.

The users service is a stand-in over real HTTP; orders are committed for real on this xdist
worker's database and truncated afterwards. Each worker writes its output to a file of its own.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from httpx import AsyncClient
from pgqueuer.queries import Queries
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import get_settings
from app.jobs import PROCESS_ORDER
from devtools.net import free_port
from devtools.system import WORKER_READY_BANNER, ServiceProcess, worker_command
from servicekit.database import driver_dsn
from servicekit.readiness import wait_until
from servicekit.testing.live_server import serve_in_thread
from servicekit.testing.metrics import value
from tests.support.orders import place_order
from tests.support.users_http import UsersStandIn
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.e2e

StartWorker = Callable[..., ServiceProcess]
PlaceOrders = Callable[[int], Awaitable[list[int]]]

HEARTBEAT_TIMEOUT_SECONDS = 2
RECOVERY_DEADLINE_SECONDS = 30
#: What the worker logs once SIGTERM has stopped it taking jobs (``app.queue_worker._stop``).
STOPPING_LINE = "stopping: no new job is taken"


@pytest.fixture
def users_stand_in() -> Iterator[tuple[UsersStandIn, str]]:
    stand_in = UsersStandIn()
    try:
        with serve_in_thread(stand_in.app) as url:
            yield stand_in, url
    finally:
        stand_in.release()


@pytest.fixture
def start_worker(users_stand_in: tuple[UsersStandIn, str], database_url: str, tmp_path: Path) -> Iterator[StartWorker]:
    """``start_worker(**settings)``: a running worker process; every one left is killed at the end."""
    started: list[ServiceProcess] = []
    env = {
        "DATABASE_URL": database_url,
        "USERS_SERVICE_URL": users_stand_in[1],
        "WORKER_HEARTBEAT_TIMEOUT_SECONDS": str(HEARTBEAT_TIMEOUT_SECONDS),
        "USERS_READ_TIMEOUT_SECONDS": "60",
        "USERS_DEADLINE_SECONDS": "60",
    }

    def start(**settings: str) -> ServiceProcess:
        name = f"worker-{len(started) + 1}"
        worker = ServiceProcess(
            name,
            "orders",
            worker_command(),
            {**env, **settings},
            tmp_path / f"{name}.log",
            ready_banner=WORKER_READY_BANNER,
        )
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.kill()


async def final_entries(test_engine: AsyncEngine) -> dict[int, int]:
    """Per order id, how many final status entries it has."""
    statement = text(
        "SELECT o.id, count(h.id) FROM orders o LEFT JOIN order_status_history h"
        " ON h.order_id = o.id AND h.status <> 'pending' GROUP BY o.id"
    )
    async with test_engine.connect() as connection:
        return dict((await connection.execute(statement)).all())


async def job_statuses(test_engine: AsyncEngine) -> list[str]:
    async with test_engine.connect() as connection:
        return list((await connection.execute(text("SELECT status::text FROM pgqueuer"))).scalars())


@pytest.fixture
async def orders_of(
    live_client: AsyncClient, users_service: FakeUsersService, users_stand_in: tuple[UsersStandIn, str]
) -> PlaceOrders:
    """``orders_of(n)``: n committed orders of a user the stand-in knows."""
    user_id, token = users_service.add_user()
    users_stand_in[0].users.add(user_id)

    async def place(count: int) -> list[int]:
        return [(await place_order(live_client, users_service.headers(token)))["id"] for _ in range(count)]

    return place


@dataclass
class HeldJob:
    """An order whose job a running worker holds: its users call waits until ``stand_in.release()``."""

    order_id: int
    worker: ServiceProcess
    stand_in: UsersStandIn


@pytest.fixture
async def held_job(
    orders_of: PlaceOrders, start_worker: StartWorker, users_stand_in: tuple[UsersStandIn, str]
) -> HeldJob:
    stand_in, _ = users_stand_in
    stand_in.hold()
    [order_id] = await orders_of(1)
    worker = start_worker()

    async def held() -> bool:
        return len(stand_in.requests) == 1

    await wait_until(held, deadline_seconds=RECOVERY_DEADLINE_SECONDS, describe="the worker's users call")
    return HeldJob(order_id, worker, stand_in)


async def test_a_job_held_by_a_killed_worker_is_taken_up_again(
    held_job: HeldJob, start_worker: StartWorker, test_engine: AsyncEngine
) -> None:
    order_id = held_job.order_id
    assert await job_statuses(test_engine) == ["picked"]
    held_job.worker.kill()
    held_job.stand_in.release()
    start_worker()

    async def processed() -> bool:
        return (await final_entries(test_engine)).get(order_id) == 1

    await wait_until(processed, deadline_seconds=RECOVERY_DEADLINE_SECONDS, describe="the order's processing")
    assert await final_entries(test_engine) == {order_id: 1}


def test_a_ready_worker_stops_cleanly_on_sigterm(start_worker: StartWorker) -> None:
    worker = start_worker()

    worker.stop()  # raises unless it exits 0


async def test_two_workers_process_every_order_once(
    orders_of: PlaceOrders, start_worker: StartWorker, test_engine: AsyncEngine
) -> None:
    order_ids = await orders_of(40)
    start_worker()
    start_worker()

    async def all_processed() -> bool:
        return all(count >= 1 for count in (await final_entries(test_engine)).values())

    await wait_until(all_processed, deadline_seconds=RECOVERY_DEADLINE_SECONDS, describe="every order's processing")
    assert await final_entries(test_engine) == dict.fromkeys(order_ids, 1)


async def test_sigterm_lets_the_job_in_hand_finish_and_takes_no_new_one(
    held_job: HeldJob, orders_of: PlaceOrders, test_engine: AsyncEngine
) -> None:
    in_hand, worker, stand_in = held_job.order_id, held_job.worker, held_job.stand_in

    async def stopping_logged() -> bool:
        return STOPPING_LINE in worker.output()

    stopped = asyncio.create_task(asyncio.to_thread(worker.stop))  # SIGTERM, then waits for exit 0
    await wait_until(stopping_logged, deadline_seconds=RECOVERY_DEADLINE_SECONDS, describe="the SIGTERM's handling")
    [after_sigterm] = await orders_of(1)
    still_running = worker.running
    stand_in.release()
    await asyncio.wait_for(stopped, timeout=RECOVERY_DEADLINE_SECONDS)

    assert still_running, "the worker exited with a job in hand"
    assert await final_entries(test_engine) == {in_hand: 1, after_sigterm: 0}
    assert await job_statuses(test_engine) == ["queued"]  # the new order's job, left for the next worker
    assert stand_in.requests == [stand_in.requests[0]]  # nothing was asked for the new order


async def order_of_a_new_user(client: AsyncClient, users_service: FakeUsersService) -> tuple[int, int]:
    """A new user (known to the orders API's users service) and an order of theirs."""
    user_id, token = users_service.add_user()
    return user_id, (await place_order(client, users_service.headers(token)))["id"]


async def enqueue_raw(database_url: str, payload: bytes) -> None:
    connection = await asyncpg.connect(driver_dsn(database_url))
    try:
        await Queries.from_asyncpg_connection(connection).enqueue(PROCESS_ORDER, payload)
    finally:
        await connection.close()


def scrape(port: int) -> str:
    """The worker's exposition (urllib: respx holds httpx to the users service's fake)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5.0) as response:
        return str(response.read().decode())


async def test_the_worker_serves_its_job_and_queue_metrics(
    live_client: AsyncClient,
    users_service: FakeUsersService,
    users_stand_in: tuple[UsersStandIn, str],
    start_worker: StartWorker,
    test_engine: AsyncEngine,
) -> None:
    stand_in, _ = users_stand_in
    known, confirmed = await order_of_a_new_user(live_client, users_service)
    stand_in.users.add(known)
    _, rejected = await order_of_a_new_user(live_client, users_service)  # unknown to the stand-in
    failing, retried = await order_of_a_new_user(live_client, users_service)
    stand_in.failing.add(failing)  # the users service is down for this one: the job is retried
    await enqueue_raw(get_settings().database_url, b"not-an-order")  # a job that fails for good
    port = free_port()
    start_worker(
        WORKER_METRICS_PORT=str(port),
        WORKER_QUEUE_METRICS_INTERVAL_SECONDS="0.1",
        WORKER_RETRY_INITIAL_DELAY_SECONDS="600",  # the retried job waits in the queue meanwhile
        WORKER_RETRY_MAX_DELAY_SECONDS="600",
    )
    scrapes: list[str] = []

    async def settled() -> bool:
        exposition = await asyncio.to_thread(scrape, port)
        scrapes.append(exposition)
        jobs_done = sorted(await job_statuses(test_engine)) == ["failed", "queued"]
        return jobs_done and value(exposition, "job_queue_depth") == 1

    await wait_until(settled, deadline_seconds=RECOVERY_DEADLINE_SECONDS, describe="the jobs and the queue gauge")

    exposition = scrapes[-1]
    assert await final_entries(test_engine) == {confirmed: 1, rejected: 1, retried: 0}
    assert value(exposition, "jobs_processed_total") == 2
    assert value(exposition, "jobs_failed_total") == 1
    assert value(exposition, "jobs_retried_total") == 1
    assert value(exposition, "job_queue_depth") == 1
    assert 0 < value(exposition, "job_queue_oldest_age_seconds") < 600
