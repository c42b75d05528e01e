"""Run code as on a server whose local time zone is far from UTC (timestamps must not notice)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: UTC+14, the farthest local time from UTC: a naive "now" there is 14 hours off.
FAR_FROM_UTC = "Pacific/Kiritimati"


@contextmanager
def local_time_zone(name: str = FAR_FROM_UTC) -> Iterator[None]:
    """The process's local time zone set to ``name`` (``TZ``), restored afterwards."""
    original = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if original is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = original
        time.tzset()
