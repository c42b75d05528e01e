"""Measuring: rounds of a scenario against the service and the baseline, back to back.

Each round runs ``wrk`` once and samples the server processes' CPU time (psutil) before and
after, and their resident memory after; PostgreSQL's CPU is counted apart.
"""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import cpu_seconds, median, rss_mib, spread
from bench.scenarios import Data, Scenario
from bench.wrk import HttpRequest, WrkResult, run_wrk, write_script


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup_seconds: float
    rounds: int
    threads: int
    connections: int


@dataclass(frozen=True)
class Round:
    rate: float
    requests: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    errors: int
    non_2xx: int
    cpu_ms_per_request: float
    db_cpu_ms_per_request: float
    rss_mib: float


@dataclass
class Target:
    """Where requests go and which processes serve them (their CPU and memory are measured)."""

    url: str
    #: The serving processes' pids, each named (the names of profile files).
    processes: dict[str, int]

    @property
    def pids(self) -> list[int]:
        return list(self.processes.values())


@dataclass
class Runner:
    wrk: str
    workdir: Path
    options: Options
    db_pid: int
    #: Where flame graphs go (py-spy), and of which scenarios; none without ``--profile``.
    profile_dir: Path | None = None
    profile: frozenset[str] = frozenset()
    _scripts: itertools.count[int] = field(default_factory=itertools.count)

    def threads(self, connections: int) -> int:
        return min(self.options.threads, connections)

    def script(
        self, requests: list[HttpRequest], connections: int, *, tokens: list[str] | None = None, total_limit: int = 0
    ) -> Path:
        """The Lua script for a run with this many connections (the threads split tokens and limits)."""
        name = f"script{next(self._scripts)}"
        threads = self.threads(connections)
        return write_script(self.workdir, name, requests, threads=threads, tokens=tokens, total_limit=total_limit)

    def run(self, target: Target, script: Path, *, connections: int, seconds: float | None = None) -> Round:
        """One measured run of ``wrk``."""
        cpu_before, db_before = cpu_seconds(target.pids), cpu_seconds([self.db_pid])
        result: WrkResult = run_wrk(
            self.wrk,
            target.url,
            script,
            seconds=seconds if seconds is not None else self.options.seconds,
            threads=self.threads(connections),
            connections=connections,
        )
        served = max(result.requests, 1)
        return Round(
            rate=result.rate,
            requests=result.requests,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            p999_ms=result.p999_ms,
            errors=result.errors,
            non_2xx=result.non_2xx,
            cpu_ms_per_request=(cpu_seconds(target.pids) - cpu_before) * 1000 / served,
            db_cpu_ms_per_request=(cpu_seconds([self.db_pid]) - db_before) * 1000 / served,
            rss_mib=rss_mib(target.pids),
        )


@contextmanager
def flame_graphs(runner: Runner, processes: dict[str, int], stem: str) -> Iterator[list[str]]:
    """py-spy recording each named process (and its children: uvicorn's workers) while the block
    runs; each writes ``{stem}-{name}.svg`` into the profile folder when the block ends."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    assert runner.profile_dir is not None  # noqa: S101 - only called with profiling on
    recorders: dict[Path, subprocess.Popen[str]] = {}
    for name, pid in processes.items():
        path = runner.profile_dir / f"{stem}-{name}.svg"
        command = [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--format",
            "flamegraph",
            "--output",
            str(path),
        ]
        recorders[path] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # noqa: S603 - py-spy, our arguments
    try:
        yield [path.name for path in recorders]
    finally:
        for recorder in recorders.values():
            recorder.send_signal(signal.SIGINT)  # py-spy writes the flame graph when interrupted
        for recorder in recorders.values():
            _, errors = recorder.communicate()
            if recorder.returncode != 0:
                msg = f"py-spy failed ({recorder.returncode}): {errors}"
                raise RuntimeError(msg)


def profiled(runner: Runner, target: Target, script: Path, *, connections: int, stem: str) -> list[str]:
    """One more run of the service with flame graphs recorded; not one of the measured rounds."""
    with flame_graphs(runner, target.processes, stem) as files:
        runner.run(target, script, connections=connections, seconds=runner.options.seconds)
    return files


def summary(rounds: list[Round]) -> dict[str, Any]:
    """Every round, and the median (with its spread) of each measure."""
    rates = [r.rate for r in rounds]
    return {
        "rounds": [asdict(r) for r in rounds],
        "rate": median(rates),
        "rate_spread": spread(rates),
        "p50_ms": median([r.p50_ms for r in rounds]),
        "p99_ms": median([r.p99_ms for r in rounds]),
        "p999_ms": median([r.p999_ms for r in rounds]),
        "cpu_ms_per_request": median([r.cpu_ms_per_request for r in rounds]),
        "db_cpu_ms_per_request": median([r.db_cpu_ms_per_request for r in rounds]),
        "rss_mib": max(r.rss_mib for r in rounds),
        "failed_requests": sum(r.errors + r.non_2xx for r in rounds),
    }


def run_scenario(
    runner: Runner,
    scenario: Scenario,
    data: Data,
    *,
    service: Target,
    baseline: Target,
    fresh_tokens: Callable[[int], list[str]],
    tag: str,
    workers: int,
) -> dict[str, Any]:
    """Warm-up, then ``rounds`` rounds; service and baseline back to back, alternating who goes first."""
    connections = scenario.connections or runner.options.connections
    options = runner.options

    def service_run(label: str, seconds: float) -> Round:
        requests, _ = scenario.requests(data, f"{tag}{label}")
        tokens = fresh_tokens(connections + 4 * options.threads) if scenario.refresh_tokens else None
        return runner.run(
            service, runner.script(requests, connections, tokens=tokens), connections=connections, seconds=seconds
        )

    def baseline_run(label: str, seconds: float) -> Round:
        _, requests = scenario.requests(data, f"{tag}{label}")
        return runner.run(baseline, runner.script(requests, connections), connections=connections, seconds=seconds)

    has_baseline = scenario.reference == "baseline"
    service_run("w", options.warmup_seconds)
    if has_baseline:
        baseline_run("w", options.warmup_seconds)
    service_rounds: list[Round] = []
    baseline_rounds: list[Round] = []
    for number in range(options.rounds):
        order = ("service", "baseline") if number % 2 == 0 else ("baseline", "service")
        for who in order:
            if who == "service":
                service_rounds.append(service_run(f"r{number}", options.seconds))
            elif has_baseline:
                baseline_rounds.append(baseline_run(f"r{number}", options.seconds))
    result: dict[str, Any] = {"label": scenario.label, "reference": scenario.reference, "target": scenario.target}
    result["service"] = summary(service_rounds)
    if scenario.name in runner.profile:
        requests, _ = scenario.requests(data, f"{tag}p")
        tokens = fresh_tokens(connections + 4 * options.threads) if scenario.refresh_tokens else None
        script = runner.script(requests, connections, tokens=tokens)
        stem = f"profile-{scenario.name}-{workers}w"
        result["profiles"] = profiled(runner, service, script, connections=connections, stem=stem)
    if has_baseline:
        result["baseline"] = summary(baseline_rounds)
        ratios = [s.rate / b.rate if b.rate else 0.0 for s, b in zip(service_rounds, baseline_rounds, strict=True)]
        result["ratio_rounds"] = ratios
        result["ratio"] = median(ratios)
    return result
