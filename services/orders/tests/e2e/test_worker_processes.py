"""The worker as real processes (``python -m app.worker``): killed mid-job, and two at once.

The users service is a stand-in over real HTTP; orders are committed for real on this xdist
worker's database and truncated afterwards.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Awaitable, Callable, Iterator

import pytest
from httpx import AsyncClient
from mirakuru import OutputExecutor, SimpleExecutor
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue_worker import READY_BANNER
from servicekit.readiness import wait_until
from servicekit.testing.live_server import serve_in_thread
from tests.conftest import SERVICE_ROOT
from tests.support.orders import place_order
from tests.support.users_http import UsersStandIn
from tests.support.users_service import FakeUsersService

pytestmark = pytest.mark.e2e

StartWorker = Callable[[], SimpleExecutor]
PlaceOrders = Callable[[int], Awaitable[list[int]]]

HEARTBEAT_TIMEOUT_SECONDS = 2
RECOVERY_DEADLINE_SECONDS = 30


@pytest.fixture
def users_stand_in() -> Iterator[tuple[UsersStandIn, str]]:
    stand_in = UsersStandIn()
    try:
        with serve_in_thread(stand_in.app) as url:
            yield stand_in, url
    finally:
        stand_in.release()


@pytest.fixture
def start_worker(users_stand_in: tuple[UsersStandIn, str], database_url: str) -> Iterator[StartWorker]:
    """Starts worker processes; every one still running is killed at the end."""
    started: list[SimpleExecutor] = []
    env = {
        "DATABASE_URL": database_url,
        "USERS_SERVICE_URL": users_stand_in[1],
        "WORKER_HEARTBEAT_TIMEOUT_SECONDS": str(HEARTBEAT_TIMEOUT_SECONDS),
        "USERS_READ_TIMEOUT_SECONDS": "60",
        "USERS_DEADLINE_SECONDS": "60",
    }

    def start() -> SimpleExecutor:
        worker = OutputExecutor(
            [sys.executable, "-m", "app.worker"], banner=READY_BANNER, cwd=str(SERVICE_ROOT), envvars=env, timeout=60
        )
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        if worker.running():
            worker.kill(sig=signal.SIGKILL)


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


async def test_a_job_held_by_a_killed_worker_is_taken_up_again(
    orders_of: PlaceOrders,
    start_worker: StartWorker,
    users_stand_in: tuple[UsersStandIn, str],
    test_engine: AsyncEngine,
) -> None:
    stand_in, _ = users_stand_in
    stand_in.hold()
    [order_id] = await orders_of(1)
    first = start_worker()

    async def held() -> bool:
        return len(stand_in.requests) == 1

    await wait_until(held, deadline_seconds=RECOVERY_DEADLINE_SECONDS, describe="the first worker's users call")
    assert await job_statuses(test_engine) == ["picked"]
    first.kill(sig=signal.SIGKILL)
    stand_in.release()
    start_worker()

    async def processed() -> bool:
        return (await final_entries(test_engine)).get(order_id) == 1

    await wait_until(processed, deadline_seconds=RECOVERY_DEADLINE_SECONDS, describe="the order's processing")
    assert await final_entries(test_engine) == {order_id: 1}


def test_a_ready_worker_stops_cleanly_on_sigterm(start_worker: StartWorker) -> None:
    worker = start_worker()

    worker.stop(expected_returncode=0)


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
