"""The pytest plugin of `make mutation` (``-p tests.support.mutation_plugin``, see ``setup.cfg``).

mutmut runs the tests that reach a mutated function once per mutant, each time as a new pytest
session in a process forked from one that has already collected the suite. Three things make
that fast and the verdicts trustworthy:

- Hypothesis's ``mutation`` profile: the same examples on every run and under any load (no
  example database, no deadline), so a mutant's verdict never depends on luck or CPU contention.
- ``gc.freeze()``: the inherited heap (every module the suite imports) is left out of the garbage
  collections pytest forces at the end of each session, which otherwise cost a second per mutant.
- The run's migrated template database, made once by ``devtools.mutation`` and described in
  ``MUTATION_TEST_SERVER``: each session clones it exactly as an xdist worker does (the
  hand-off of ``tests/conftest.py``) instead of migrating a template of its own.
"""

from __future__ import annotations

import gc
import json
import os

import pytest
from hypothesis import settings

settings.register_profile("mutation", derandomize=True, database=None, deadline=None)

TEST_SERVER_VARIABLE = "MUTATION_TEST_SERVER"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    gc.freeze()
    test_server = os.environ.get(TEST_SERVER_VARIABLE)
    if test_server and not hasattr(config, "workerinput"):
        # Concurrent mutants each get a database of their own: the worker id names it.
        config.workerinput = {"workerid": f"mutant{os.getpid()}", "users_test_server": json.loads(test_server)}
