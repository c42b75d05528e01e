"""``make bench``: the whole system against the framework-free baseline, scenario by scenario.

Starts an embedded PostgreSQL, migrates both services, seeds it (COPY), starts the system
(users API, orders API, orders worker, as ``make run`` does) and the baseline, both with 1 uvicorn
worker, then with 2; logs seeded users in, warms up, and drives every scenario with ``wrk``,
service and baseline back to back, ``--rounds`` times. Writes ``bench/results/`` (JSON,
Markdown, PNG chart). The orders worker is stopped while the HTTP scenarios run (it is measured
on its own backlog), so every HTTP scenario measures its API alone.

    .venv/bin/python -m bench [--seconds 5] [--rounds 3] [--workers 1 2] [--users 10000 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from bench import report
from bench.checks import hashing_bound, login_flood, memory_growth, worker_throughput
from bench.measure import postmaster_pid
from bench.runner import Options, Runner, Target, flame_graphs, run_scenario
from bench.scenarios import SCENARIOS, Data
from bench.seed import SeedSize, log_in, seed_orders, seed_users
from bench.wrk import ensure_wrk
from devtools import embedded_pg
from devtools.mail import local_mail_server
from devtools.net import free_port
from devtools.system import REPO_ROOT, ServiceProcess, System, create_databases

RESULTS_DIR = REPO_ROOT / "bench" / "results"
DATABASES = {"users": "bench_users", "orders": "bench_orders"}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured round")
    parser.add_argument("--warmup", type=float, default=2.0, help="length of each scenario's warm-up run")
    parser.add_argument("--rounds", type=int, default=report.FULL_ROUNDS)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (hashing scenarios: 8)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="uvicorn workers per API")
    parser.add_argument("--users", type=int, default=report.FULL_SEED.users)
    parser.add_argument("--posts", type=int, default=report.FULL_SEED.posts)
    parser.add_argument("--orders", type=int, default=report.FULL_SEED.orders)
    parser.add_argument("--accounts", type=int, default=200, help="seeded users logged in beforehand")
    parser.add_argument("--backlog", type=int, default=10_000, help="orders the worker confirms")
    parser.add_argument("--memory-requests", type=int, nargs=2, default=[10_000, 100_000], metavar=("FIRST", "TOTAL"))
    parser.add_argument("--only", nargs="*", default=None, help="run these scenarios only (names)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--profile",
        nargs="+",
        default=[],
        metavar="SCENARIO",
        help="flame graphs (py-spy) of these scenarios, in --out",
    )
    return parser.parse_args()


def _baseline(urls: dict[str, str], workers: int, log_dir: Path) -> ServiceProcess:
    port = free_port()
    command = [sys.executable, "-m", "servicekit.server", "bench.baseline:app", "--service-name", "baseline"]
    command += ["--port", str(port), "--app-dir", str(REPO_ROOT), "--workers", str(workers)]
    env = {"USERS_DATABASE_URL": urls["users"], "ORDERS_DATABASE_URL": urls["orders"], "LOG_LEVEL": "WARNING"}
    return ServiceProcess("baseline", "users", command, env, log_dir / f"baseline-{workers}.log", port)


def _pid(process: ServiceProcess) -> int:
    if process.pid is None:
        msg = f"{process.name} is not running"
        raise RuntimeError(msg)
    return process.pid


def _configuration(
    args: argparse.Namespace,
    workers: int,
    *,
    urls: dict[str, str],
    runner: Runner,
    data: Data,
    system_env: dict[str, Any],
) -> dict[str, Any]:
    log_dir = runner.workdir / f"logs-{workers}"
    system = System(urls, log_dir, free_port(), free_port(), api_workers=workers, queue_workers=workers, **system_env)
    baseline = _baseline(urls, workers, log_dir)
    result: dict[str, Any] = {"workers": workers}
    try:
        system.start()
        baseline.start()
        for name, process in system.processes.items():
            if name.startswith("worker"):
                process.stop()
        if not data.accounts:
            data.accounts.extend(asyncio.run(log_in(system.users.base_url, list(range(1, args.accounts + 1)))))
        result["hashing"] = hashing_bound(system.users_env)
        users = Target(system.users.base_url, {"users": _pid(system.users)})
        orders = Target(system.orders.base_url, {"users": _pid(system.users), "orders": _pid(system.orders)})
        raw = Target(baseline.base_url, {"baseline": _pid(baseline)})
        serial = iter(range(1, sys.maxsize))

        def fresh_tokens(count: int) -> list[str]:
            first = 1 + (args.accounts + next(serial) * count) % max(1, args.users - count)
            accounts = asyncio.run(log_in(system.users.base_url, list(range(first, first + count))))
            return [account.refresh_token for account in accounts]

        tag = f"{workers}{secrets.token_hex(3)}"
        result["scenarios"] = {}
        for scenario in SCENARIOS:
            if args.only is not None and scenario.name not in args.only:
                continue
            print(f"[{workers} worker(s)] {scenario.label}", flush=True)  # noqa: T201 - progress
            target = orders if scenario.api == "orders" else users
            result["scenarios"][scenario.name] = run_scenario(
                runner,
                scenario,
                data,
                service=target,
                baseline=raw,
                fresh_tokens=fresh_tokens,
                tag=tag,
                workers=workers,
            )
        if args.only is None or "flood" in args.only:
            print(f"[{workers} worker(s)] GET /users/{{id}} during a login flood", flush=True)  # noqa: T201 - progress
            result["flood"] = _flood(runner, data, users, workers)
        if workers == 1 and (args.only is None or "memory" in args.only):
            print("[1 worker] memory after 10k and 100k requests", flush=True)  # noqa: T201 - progress
            first, total = args.memory_requests
            users_only = Target(system.users.base_url, {"users": _pid(system.users)})
            orders_only = Target(system.orders.base_url, {"orders": _pid(system.orders)})
            result["memory"] = memory_growth(runner, data, users_only, orders_only, first=first, total=total)
        if args.only is None or "worker" in args.only:
            print(f"[{workers} worker(s)] worker throughput, backlog {args.backlog}", flush=True)  # noqa: T201 - progress
            result["worker"] = worker_throughput(system, urls["orders"], args.backlog, args.users)
            if "worker" in runner.profile:  # one more backlog, recorded; not the measured one
                processes = {name: _pid(p) for name, p in system.processes.items() if name.startswith("worker")}
                with flame_graphs(
                    runner, {**processes, "users": _pid(system.users)}, f"profile-worker-{workers}w"
                ) as files:
                    worker_throughput(system, urls["orders"], args.backlog, args.users)
                result["worker"]["profiles"] = files
    finally:
        baseline.stop()
        system.stop()
    return result


def _flood(runner: Runner, data: Data, users: Target, workers: int) -> dict[str, Any]:
    result = login_flood(runner, data, users)
    if "flood" in runner.profile:  # one more flood, recorded; not the measured one
        with flame_graphs(runner, users.processes, f"profile-flood-{workers}w") as files:
            login_flood(runner, data, users)
        result["profiles"] = files
    return result


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)  # unwinds: every process started is stopped, the database removed


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = _arguments()
    wrk = ensure_wrk()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    server = embedded_pg.start(workdir / "pgdata", cleanup="delete", durable=False)
    # Two uvicorn workers per API and the baseline's: each process has its own pool.
    server = embedded_pg.restart_with(server, {"max_connections": "400"})
    urls = create_databases(server.database_url(), DATABASES)
    size = SeedSize(users=args.users, posts=args.posts, orders=args.orders)
    secret = secrets.token_urlsafe(48)
    system_env: dict[str, Any] = {
        "env": {"ENVIRONMENT": "production", "REDIS_URL": ""},
        "users_env": {
            "SECRET_KEY": secret,
            # Tokens are minted once, before a run that can outlast the default 15 minutes.
            "ACCESS_TOKEN_TTL_SECONDS": "86400",
            # wrk sends every registration from one address and rotates each refresh family
            # hundreds of times an hour: past the abuse limits, which would answer 429s, not
            # measure the work. The limits' checks still run on every request.
            "REGISTRATIONS_PER_CLIENT": "100000000",
            "REFRESHES_PER_FAMILY": "100000000",
        },
    }
    System(urls, workdir / "logs", 0, 0).migrate()
    print(f"seeding {size}", flush=True)  # noqa: T201 - progress
    hashed = hashing_bound(system_env["users_env"])["hash"]
    asyncio.run(seed_users(urls["users"], size, hashed))
    asyncio.run(seed_orders(urls["orders"], size))
    options = Options(args.seconds, args.warmup, args.rounds, args.threads, args.connections)
    args.out.mkdir(parents=True, exist_ok=True)
    runner = Runner(wrk, workdir, options, postmaster_pid(server.data_dir), args.out, frozenset(args.profile))
    data = Data(size, [])
    with local_mail_server() as smtp_settings:
        system_env["users_env"].update(smtp_settings)
        configurations = [
            _configuration(args, workers, urls=urls, runner=runner, data=data, system_env=system_env)
            for workers in args.workers
        ]
    results = report.collect(args, size, configurations, time.monotonic() - started)
    report.write(results, args.out)
    if args.out.resolve() == RESULTS_DIR.resolve():
        report.update_readme(results, REPO_ROOT / "README.md")
    print(report.markdown(results))  # noqa: T201 - the command's output
    print(f"\nProcess logs and wrk scripts of this run: {workdir}", flush=True)  # noqa: T201 - the command's output


if __name__ == "__main__":
    main()
