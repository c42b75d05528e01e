"""The cost of one argon2id verification at the users service's configured parameters.

Run from the users service's folder (it imports ``app``), with the service's environment:
prints one JSON line with the median verification time, wall-clock and CPU (on a quiet machine
the two agree; on a busy one the wall-clock time includes waiting for a core), and one hash of
the given password (made with those parameters, so seeded accounts need no rehash at login).

    cd services/users && PYTHONPATH=../.. python -m bench.hash_cost PASSWORD [ROUNDS]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from app.utils.password import hash_password, verify_password


def _timed_verifications(password: str, hashed: str, rounds: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of ``rounds`` verifications on this thread."""
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.thread_time()
        verify_password(password, hashed)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return wall, cpu


def main() -> None:
    password = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15  # noqa: PLR2004 - the optional second argument
    hashed = hash_password(password)
    verify_password(password, hashed)  # the first call builds the hasher
    wall, cpu = _timed_verifications(password, hashed, rounds)
    # One verification per core at once, as a saturating login load runs them: argon2id is
    # memory-hard (19 MiB each), so concurrent ones can cost more each than one alone.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=cores) as pool:
        runs = list(pool.map(lambda _: _timed_verifications(password, hashed, rounds), range(cores)))
    concurrent_cpu = [ms for _, cpu_ms in runs for ms in cpu_ms]
    result = {
        "hash": hashed,
        "verify_ms": statistics.median(wall),
        "verify_cpu_ms": statistics.median(cpu),
        "verify_cpu_ms_concurrent": statistics.median(concurrent_cpu),
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
