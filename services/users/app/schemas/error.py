"""The error body every service answers with (one definition, in servicekit)."""

from __future__ import annotations

from servicekit.errors import ErrorResponse

__all__ = ["ErrorResponse"]
