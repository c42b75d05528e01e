"""Run `make test` several times in a row, each with its own pytest-randomly seed.

A flaky test shows itself only across runs in different orders. Each run gets a seed drawn here
(passed to every pytest invocation through PYTEST_ADDOPTS), so a failing run can be replayed
exactly with `PYTEST_ADDOPTS="-p randomly -p no:cacheprovider --randomly-seed=SEED" make test`.
Results go to `.data/repeat/results.jsonl` (one line a run) and each run's output beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".data" / "repeat"


def run_once(index: int, seed: int) -> dict[str, object]:
    """Run `make test` once with `seed` and return what happened."""
    log = OUT / f"run-{index:02d}-seed-{seed}.log"
    env = {**os.environ, "PYTEST_ADDOPTS": f"-p randomly --randomly-seed={seed}"}
    started = time.monotonic()
    with log.open("w") as output:
        code = subprocess.call(
            ["make", "--no-print-directory", "test"],  # noqa: S607 - make from PATH, as a developer runs it
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return {
        "run": index,
        "seed": seed,
        "returncode": code,
        "seconds": round(time.monotonic() - started, 1),
        "log": str(log.relative_to(ROOT)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    seeds = random.SystemRandom().sample(range(1, 2**31), args.runs)
    failures = 0
    for index, seed in enumerate(seeds, start=1):
        result = run_once(index, seed)
        failures += result["returncode"] != 0
        with (OUT / "results.jsonl").open("a") as results:
            results.write(json.dumps(result) + "\n")
        print(json.dumps(result), flush=True)  # noqa: T201 - a command-line tool's progress
    print(f"{args.runs - failures}/{args.runs} runs passed", flush=True)  # noqa: T201
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
