"""``make bench-tests``: how fast the test suite is.

- Wall time of each tier of each service (as the Makefile runs it: the integration tier on
  ``-n auto`` workers), of the system tier and of servicekit's tests, without coverage.
- Per-test database overhead: the median time of a test that takes ``db_session`` (one
  transaction on the worker's database, rolled back) and of one that takes ``client`` (the app
  over ASGI in that transaction), minus the median of a test that takes nothing (the floor). The
  probe tests are written into the users service's tests for the run and removed afterwards.
- Speed-up from parallel workers: one tier's wall time on 1 process over its time on ``-n N``.

Results in ``bench/results/suite.json`` and ``suite.md``.

    .venv/bin/python -m bench.suite_speed [--tiers unit integration ...] [--probes 200] [--speedup-tier integration]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from devtools.system import REPO_ROOT, SERVICES_DIR

RESULTS_DIR = REPO_ROOT / "bench" / "results"
#: Each tier's pytest arguments, as the Makefile's tier targets give them.
TIERS: dict[str, list[str]] = {
    "unit": ["-m", "unit"],
    "integration": ["-n", "auto", "-m", "integration or migrations"],
    "contract": ["-m", "contract"],
    "e2e": ["-m", "e2e"],
}
PROBE = '''"""Written by bench.suite_speed for one run, then removed."""

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("n", range({count}))
def test_floor(n):
    assert n >= 0


@pytest.mark.parametrize("n", range({count}))
async def test_db_session(n, db_session):
    assert await db_session.scalar(text("SELECT 1")) == 1


@pytest.mark.parametrize("n", range({count}))
async def test_client(n, client):
    assert (await client.get("/health/live")).status_code == 200
'''


def _pytest(cwd: Path, arguments: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one pytest run (it must pass)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *arguments]
    environment = {**os.environ, **(env or {})}
    started = time.monotonic()
    completed = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, check=False)  # noqa: S603 - this interpreter
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        msg = f"pytest {' '.join(arguments)} in {cwd} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-2000:]}"
        raise RuntimeError(msg)
    return elapsed


def tier_times(tiers: list[str]) -> dict[str, float]:
    times: dict[str, float] = {}
    for service in ("orders", "users"):
        for tier in tiers:
            if tier in TIERS:
                times[f"{service} {tier}"] = _pytest(SERVICES_DIR / service, TIERS[tier])
    if "system" in tiers:
        times["system (tests/e2e)"] = _pytest(REPO_ROOT, ["tests/e2e"])
    if "servicekit" in tiers:
        times["servicekit"] = _pytest(REPO_ROOT, ["servicekit/tests", "-n", "auto"])
    return times


def fixture_overhead(count: int) -> dict[str, float]:
    """Median per-test milliseconds of the probe tests, and the two fixtures' overhead over the floor."""
    probe = SERVICES_DIR / "users" / "tests" / "integration" / f"test_suite_speed_probe_{os.getpid()}.py"
    timings = Path(tempfile.mkdtemp(prefix="suite-speed-")) / "timings.json"
    probe.write_text(PROBE.format(count=count), encoding="utf-8")
    try:
        arguments = [str(probe.relative_to(SERVICES_DIR / "users")), "-p", "bench.probe_timing"]
        _pytest(SERVICES_DIR / "users", arguments, {"PROBE_TIMINGS": str(timings)})
    finally:
        probe.unlink()
    times: dict[str, list[float]] = {"floor": [], "db_session": [], "client": []}
    for node, seconds in json.loads(timings.read_text(encoding="utf-8")).items():
        group = node.split("::")[-1].removeprefix("test_").split("[")[0]
        times[group].append(seconds * 1000)
    # The first few of each group pay one-off costs (the worker's database, the app's first start).
    medians = {group: statistics.median(values[5:] or values) for group, values in times.items()}
    return {
        "floor_ms": medians["floor"],
        "db_session_ms": medians["db_session"],
        "client_ms": medians["client"],
        "db_session_overhead_ms": medians["db_session"] - medians["floor"],
        "client_overhead_ms": medians["client"] - medians["floor"],
        "target_ms": 3.0,
    }


def speedup(tier: str, workers: str) -> dict[str, Any]:
    arguments = [argument for argument in TIERS[tier] if argument not in ("-n", "auto")]
    serial = _pytest(SERVICES_DIR / "users", [*arguments, "-n", "0"])
    parallel = _pytest(SERVICES_DIR / "users", [*arguments, "-n", workers])
    return {"tier": f"users {tier}", "workers": workers, "serial_s": serial, "parallel_s": parallel,
            "speedup": serial / parallel}  # fmt: skip


def markdown(results: dict[str, Any]) -> str:
    lines = ["## Test suite speed", "", f"{results['date']}, {os.cpu_count()} cores, no coverage.", ""]
    if results.get("partial"):
        lines += ["**A partial run (not every tier): `make bench-tests` measures them all.**", ""]
    lines += ["| Tier | Wall time (s) |", "| --- | ---: |"]
    lines += [f"| {tier} | {seconds:.1f} |" for tier, seconds in results["tiers"].items()]
    overhead = results["overhead"]
    lines += [
        "",
        (
            f"Per-test floor {overhead['floor_ms']:.2f} ms; `db_session` {overhead['db_session_ms']:.2f} ms "
            f"(overhead {overhead['db_session_overhead_ms']:.2f} ms, target <= {overhead['target_ms']:.0f} ms); "
            f"`client` {overhead['client_ms']:.2f} ms (overhead {overhead['client_overhead_ms']:.2f} ms)."
        ),
    ]
    if results.get("speedup"):
        up = results["speedup"]
        lines.append(
            f"{up['tier']}: {up['serial_s']:.1f} s on 1 process, {up['parallel_s']:.1f} s on -n {up['workers']}: "
            f"{up['speedup']:.2f}x."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiers", nargs="*", default=[*TIERS, "system", "servicekit"])
    parser.add_argument("--probes", type=int, default=200, help="probe tests of each kind")
    parser.add_argument("--speedup-tier", default="integration", choices=[*TIERS, "none"])
    parser.add_argument("--workers", default="auto", help="xdist workers of the parallel run")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    results["tiers"] = tier_times(args.tiers)
    results["partial"] = set(args.tiers) != {*TIERS, "system", "servicekit"}
    results["overhead"] = fixture_overhead(args.probes)
    if args.speedup_tier != "none":
        results["speedup"] = speedup(args.speedup_tier, args.workers)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "suite.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.out / "suite.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))  # noqa: T201 - the command's output


if __name__ == "__main__":
    main()
