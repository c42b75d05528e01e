"""``python -m app.worker``'s entry point runs the worker with the process's settings."""

from __future__ import annotations

import pytest

from app import worker
from app.config import Settings, get_settings

pytestmark = pytest.mark.unit


def test_main_runs_the_worker_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Settings] = []

    async def fake_run_worker(settings: Settings) -> None:
        seen.append(settings)

    monkeypatch.setattr(worker, "run_worker", fake_run_worker)

    worker.main()

    assert seen == [get_settings()]
