"""Where the committed contracts live, shared by the consumer and provider sides."""

from __future__ import annotations

from pathlib import Path

#: The repository's top-level ``pacts/`` folder.
PACTS_DIR = Path(__file__).resolve().parents[4] / "pacts"

CONSUMER = "OrderService"
PROVIDER = "UserService"

#: The contract OrderService holds UserService to, as the Pact FFI names it.
COMMITTED_PACT = PACTS_DIR / f"{CONSUMER}-{PROVIDER}.json"
