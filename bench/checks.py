"""The measurements that are not a ratio to the baseline: hashing, the login flood, memory, the worker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from bench.measure import cpu_seconds, rss_mib
from bench.runner import Runner, Target
from bench.scenarios import Data, get_order, get_user, login
from bench.seed import PASSWORD, clear_queue, pending_orders, seed_backlog
from devtools.system import REPO_ROOT, SERVICES_DIR, System

#: Closed-loop connections of the GET /users/{id} probe, idle and during the login flood.
PROBE_CONNECTIONS = 4
FLOOD_CONNECTIONS = 8
FLOOD_P99_TARGET = 3.0
MEMORY_CONNECTIONS = 16
#: Orders per second one worker process must confirm.
WORKER_TARGET = 500.0


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def hashing_bound(env: dict[str, str]) -> dict[str, Any]:
    """cores x 1000 / verify-ms, the verification timed at the users service's configured parameters.

    The CPU time of a verification, not its wall-clock time: what the cores could do if hashing
    had them all (on a quiet machine the two agree; on a busy one the wall-clock time would
    count the wait for a core and lower the bound).
    """
    completed = subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "bench.hash_cost", PASSWORD],
        cwd=SERVICES_DIR / "users",
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(completed.stdout.strip().splitlines()[-1])
    verify_ms = float(measured["verify_cpu_ms"])
    return {
        "verify_ms": verify_ms,
        "verify_wall_ms": float(measured["verify_ms"]),
        "verify_cpu_ms_concurrent": float(measured["verify_cpu_ms_concurrent"]),
        "cores": cores(),
        "bound_per_s": cores() * 1000 / verify_ms,
        "hash": measured["hash"],
    }


def login_flood(runner: Runner, data: Data, users: Target) -> dict[str, Any]:
    """GET /users/{id} p99 alone, then while logins saturate the CPU (target: within 3x)."""
    probe = runner.script(get_user(data, "probe")[0], PROBE_CONNECTIONS)
    idle = runner.run(users, probe, connections=PROBE_CONNECTIONS)
    flood_script = runner.script(login(data, "flood")[0], FLOOD_CONNECTIONS)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The flood outlasts the probe by a second at each end, so the probe never runs alone.
        flood = pool.submit(
            runner.run, users, flood_script, connections=FLOOD_CONNECTIONS, seconds=runner.options.seconds + 2
        )
        time.sleep(1)  # not synchronisation: the flood's first second, before the probe starts
        during = runner.run(users, probe, connections=PROBE_CONNECTIONS)
        flooded = flood.result()
    ratio = during.p99_ms / idle.p99_ms if idle.p99_ms else 0.0
    return {
        "idle": asdict(idle),
        "during": asdict(during),
        "login_rate": flooded.rate,
        "p99_ratio": ratio,
        "target": FLOOD_P99_TARGET,
        "met": ratio <= FLOOD_P99_TARGET,
    }


def memory_growth(
    runner: Runner, data: Data, users: Target, orders: Target, *, first: int, total: int
) -> dict[str, Any]:
    """Each API's RSS after ``first`` requests and after ``total`` (target: within 10%)."""
    bound = max(600.0, runner.options.seconds)
    results: dict[str, Any] = {}
    for name, target, requests in (
        ("users", users, get_user(data, "memory")[0]),
        ("orders", orders, get_order(data, "memory")[0]),
    ):
        script = runner.script(requests, MEMORY_CONNECTIONS, total_limit=first)
        after_first = runner.run(target, script, connections=MEMORY_CONNECTIONS, seconds=bound)
        rss_first = rss_mib(target.pids)
        script = runner.script(requests, MEMORY_CONNECTIONS, total_limit=total - first)
        rest = runner.run(target, script, connections=MEMORY_CONNECTIONS, seconds=bound)
        rss_total = rss_mib(target.pids)
        growth = rss_total / rss_first - 1 if rss_first else 0.0
        results[name] = {
            "requests_first": after_first.requests,
            "rss_first_mib": rss_first,
            "requests_total": after_first.requests + rest.requests,
            "rss_total_mib": rss_total,
            "growth": growth,
            "met": growth <= 0.10,  # noqa: PLR2004 - the issue's 10%
        }
    return results


def worker_throughput(system: System, orders_db: str, backlog: int, users: int) -> dict[str, Any]:
    """Orders confirmed per second from a backlog committed at once, by the running worker processes."""
    workers = [process for name, process in system.processes.items() if name.startswith("worker")]
    asyncio.run(clear_queue(orders_db))
    for process in workers:
        if not process.running:
            process.start()
    pids = [pid for pid in (p.pid for p in [*workers, system.users]) if pid is not None]
    cpu_before = cpu_seconds(pids)
    first_id = asyncio.run(seed_backlog(orders_db, backlog, users))
    started = time.monotonic()
    waiting = asyncio.run(pending_orders(orders_db, first_id))
    deadline = started + max(120.0, backlog / 20)
    remaining = waiting
    while remaining and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the database for a condition, with a deadline
        remaining = asyncio.run(pending_orders(orders_db, first_id))
    elapsed = time.monotonic() - started
    done = waiting - remaining
    rate = done / elapsed if elapsed else 0.0
    return {
        "backlog": backlog,
        "processes": len(workers),
        "confirmed": done,
        "left_pending": remaining,
        "seconds": elapsed,
        "rate": rate,
        "per_process": rate / len(workers),
        "cpu_ms_per_order": (cpu_seconds(pids) - cpu_before) * 1000 / max(done, 1),
        "rss_mib": rss_mib([p.pid for p in workers if p.pid is not None]),
        "target": WORKER_TARGET,
    }
