"""A pytest plugin (``-p bench.probe_timing``): each test's setup + call + teardown time.

Written as JSON (node id: seconds) to the file ``PROBE_TIMINGS`` names, at the end of the run;
pytest's own reports round to the millisecond, too coarse for a per-test overhead of a few.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:  # noqa: ARG001 - pytest's hook signature
    Path(os.environ["PROBE_TIMINGS"]).write_text(json.dumps(_seconds), encoding="utf-8")
