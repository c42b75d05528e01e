"""``python -m app.worker``'s entry point runs the worker with the process's settings."""

from __future__ import annotations

import signal

import pytest

from app import queue_worker as worker
from app import worker as entry_point
from app.config import Settings, get_settings

pytestmark = pytest.mark.unit


def test_main_runs_the_worker_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Settings] = []

    async def fake_run_worker(settings: Settings) -> None:
        seen.append(settings)

    monkeypatch.setattr(worker, "run_worker", fake_run_worker)
    monkeypatch.setattr(worker, "configure_logging", lambda *_args: None)  # the test run's logging stays

    worker.main()

    assert seen == [get_settings()]


def test_the_entry_point_exits_cleanly_on_a_signal_while_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    handlers_while_running: list[object] = []
    monkeypatch.setattr(worker, "main", lambda: handlers_while_running.append(signal.getsignal(signal.SIGTERM)))
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        entry_point.start()
        handler = signal.getsignal(signal.SIGINT)
    finally:
        for signum, restored in previous.items():
            signal.signal(signum, restored)

    assert handlers_while_running == [handler]
    assert callable(handler)
    with pytest.raises(SystemExit) as exited:
        handler(signal.SIGTERM, None)
    assert exited.value.code == 0
