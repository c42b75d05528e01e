"""Contract tests (Pact): keep the Pact library from reporting usage to the network."""

from __future__ import annotations

import os

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
