"""CPU and memory of server processes (psutil), and the statistics of repeated rounds."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

import psutil


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and every process under it (uvicorn's workers, PostgreSQL's backends)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pids: Iterable[int]) -> float:
    """User plus system CPU time used so far by these processes and all under them."""
    total = 0.0
    for pid in pids:
        for process in process_tree(pid):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def rss_mib(pids: Iterable[int]) -> float:
    """Resident memory of these processes and all under them, in MiB."""
    total = 0
    for pid in pids:
        for process in process_tree(pid):
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
    return total / 2**20


def postmaster_pid(data_dir: Path) -> int:
    """The PostgreSQL server's main process (the first line of ``postmaster.pid``)."""
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: how far apart the rounds were, as a fraction."""
    middle = median(values)
    return (max(values) - min(values)) / middle if values and middle else 0.0
