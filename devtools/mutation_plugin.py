"""The pytest plugin of `make mutation` (``-p devtools.mutation_plugin`` in a service's ``setup.cfg``).

mutmut runs the tests that reach a mutated function once per mutant, each time as a new pytest
session in a process forked from one that has already collected the suite. Three things make
that fast and the verdicts trustworthy, in every service alike:

- Hypothesis's ``mutation`` profile: the same examples on every run and under any load (no
  example database, no deadline), so a mutant's verdict never depends on luck or CPU contention.
- ``gc.freeze()``: the inherited heap (every module the suite imports) is left out of the garbage
  collections pytest forces at the end of each session, which otherwise cost a second per mutant.
- The run's migrated template database, made once by ``devtools.mutation`` and described in
  ``MUTATION_TEST_SERVER``: each session clones it exactly as an xdist worker does, by the
  hand-off each service's ``tests/conftest.py`` reads from ``workerinput["<service>_test_server"]``
  (``MUTATION_SERVICE`` names the service), instead of migrating a template of its own.
"""

from __future__ import annotations

import gc
import json
import os

import pytest
from hypothesis import settings

settings.register_profile("mutation", derandomize=True, database=None, deadline=None)

TEST_SERVER_VARIABLE = "MUTATION_TEST_SERVER"
SERVICE_VARIABLE = "MUTATION_SERVICE"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    gc.freeze()
    test_server = os.environ.get(TEST_SERVER_VARIABLE)
    service = os.environ.get(SERVICE_VARIABLE)
    if test_server and service and not hasattr(config, "workerinput"):
        # Concurrent mutants each get a database of their own: the worker id names it.
        worker_input = {"workerid": f"mutant{os.getpid()}", f"{service}_test_server": json.loads(test_server)}
        config.workerinput = worker_input  # type: ignore[attr-defined]  # the attribute xdist sets on its workers
