"""In-memory collaborators shared by the unit tests of the account services (a module may define
its own fixture of the same name instead)."""

from __future__ import annotations

import pytest

from app.utils.throttle import InMemoryFailureCounter, LoginThrottle, ThrottleRule
from tests.unit.fakes import (
    ACCOUNT_GUESSES,
    FakeAccountTokenRepository,
    FakeNotifier,
    FakeTokenRepository,
    FakeUserRepository,
)


@pytest.fixture
def users() -> FakeUserRepository:
    return FakeUserRepository()


@pytest.fixture
def account_tokens() -> FakeAccountTokenRepository:
    return FakeAccountTokenRepository()


@pytest.fixture
def sessions(users: FakeUserRepository) -> FakeTokenRepository:
    return FakeTokenRepository(users)


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def login_throttle() -> LoginThrottle:
    """The real in-process throttle, ``ACCOUNT_GUESSES`` password guesses per account."""
    return LoginThrottle(
        InMemoryFailureCounter(),
        account_rule=ThrottleRule("account", ACCOUNT_GUESSES, 60),
        client_rule=ThrottleRule("client", 100, 60),
    )
