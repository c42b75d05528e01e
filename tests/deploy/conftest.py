"""Every test here is a ``deploy`` check; the repository root is where they read files from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.deploy_checks.repo import REPO_ROOT


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.deploy)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
