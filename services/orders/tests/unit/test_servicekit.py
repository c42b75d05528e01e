"""servicekit's pure parts: URLs, SQLSTATE meanings, the domain-error table, readiness waits."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from servicekit.database import ReadDatabase, async_url, driver_dsn
from servicekit.db_errors import is_disconnect, meaning, sqlstate
from servicekit.errors import DomainErrorTable
from servicekit.readiness import check, wait_until

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:p%40ss@h:5/db", "postgres://u:p%40ss@h:5/db", "postgresql+asyncpg://u:p%40ss@h:5/db"],
)
def test_every_url_form_becomes_the_asyncpg_form(url: str) -> None:
    assert async_url(url) == "postgresql+asyncpg://u:p%40ss@h:5/db"
    assert driver_dsn(url) == "postgresql://u:p%40ss@h:5/db"


class _WithStateError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.sqlstate = code


@pytest.mark.parametrize(
    ("code", "expected"),
    [("40001", "conflict"), ("40P01", "conflict"), ("08006", "unavailable"), ("57P01", "unavailable"),
     ("53300", "unavailable"), ("23505", None), ("42P01", None)],
)  # fmt: skip
def test_sqlstate_meanings_through_sqlalchemy_wrapping(code: str, expected: str | None) -> None:
    wrapped = DBAPIError("SELECT 1", None, _WithStateError(code))

    assert sqlstate(wrapped) == code
    assert meaning(wrapped) == expected


def test_no_sqlstate_means_nothing() -> None:
    assert sqlstate(ValueError("x")) is None
    assert meaning(ValueError("x")) is None


def test_lost_connections_are_disconnects() -> None:
    assert is_disconnect(ConnectionResetError())
    assert is_disconnect(asyncpg.InterfaceError("closed"))
    assert is_disconnect(_WithStateError("57P01"))
    assert not is_disconnect(_WithStateError("23505"))


def test_read_database_takes_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ReadDatabase()


class _BaseError(Exception):
    pass


class _ChildError(_BaseError):
    pass


def test_domain_error_table_takes_the_first_match_and_defaults_to_400() -> None:
    table = DomainErrorTable(base=_BaseError, statuses=((_ChildError, 404),))

    assert table.status_for(_ChildError()) == 404
    assert table.status_for(_BaseError()) == 400
    assert table.headers(_ChildError()) == {}


async def test_check_is_ok_failed_or_timed_out() -> None:
    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionRefusedError

    async def hangs() -> None:
        await asyncio.Event().wait()

    assert await check(fine()) == "ok"
    assert await check(broken()) == "failed"
    assert await check(hangs(), timeout_seconds=0.01) == "failed"


async def test_wait_until_returns_once_true_and_times_out_otherwise() -> None:
    answers = iter([False, False, True])

    async def eventually() -> bool:
        return next(answers)

    async def never() -> bool:
        return False

    await wait_until(eventually, deadline_seconds=5, interval_seconds=0)
    with pytest.raises(TimeoutError, match="never not met within"):
        await wait_until(never, deadline_seconds=0.01, interval_seconds=0, describe="never")
