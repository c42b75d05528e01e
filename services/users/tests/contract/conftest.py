"""Contract tests (Pact): keep the Pact library from reporting usage to the network."""

from __future__ import annotations

import os

# The Pact core sends anonymous usage metrics unless told not to; tests stay offline and quiet.
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
