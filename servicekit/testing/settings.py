"""A service's live settings for one test, every field restored afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from pydantic import BaseModel

SettingsT = TypeVar("SettingsT", bound=BaseModel)


@contextmanager
def restored_afterwards(settings: SettingsT) -> Iterator[SettingsT]:
    """``settings`` for a test to change; every field is restored afterwards, so nothing leaks
    into the tests that run after it in this worker."""
    original = settings.model_dump()
    try:
        yield settings
    finally:
        for name, value in original.items():
            setattr(settings, name, value)
