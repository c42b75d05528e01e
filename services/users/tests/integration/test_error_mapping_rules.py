"""Errors that escape a route: the answer the client gets and the line the operator gets.

Each test raises the error from a route of a freshly built app, as the service's own code would.
"""

from __future__ import annotations

import asyncio
import logging
import traceback

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.exceptions import DomainError
from app.main import create_app
from servicekit.testing import app_client
from tests.support.app_client import response_when_a_route_raises

ERRORS_LOGGER = "servicekit.errors"


def logged_traceback(record: logging.LogRecord) -> str:
    """The traceback a record carries (the redacting filter turns exc_info into exc_text)."""
    if record.exc_info is not None:
        return "".join(traceback.format_exception(*record.exc_info))
    return record.exc_text or ""


def records_of(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == ERRORS_LOGGER and record.levelno == level]


@pytest.mark.integration
class TestConstraintViolation:
    @pytest.fixture
    def violation(self) -> IntegrityError:
        cause = Exception('duplicate key value violates unique constraint "users_email_key"')
        return IntegrityError("INSERT INTO users ...", {}, cause)

    async def test_is_a_409_conflict(self, violation: IntegrityError) -> None:
        response = await response_when_a_route_raises(violation)

        assert response.status_code == 409
        assert response.json()["code"] == "conflict"

    async def test_is_logged_at_info_with_the_databases_message(
        self, violation: IntegrityError, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger=ERRORS_LOGGER):
            await response_when_a_route_raises(violation)

        [record] = records_of(caplog, logging.INFO)
        assert "users_email_key" in record.getMessage()


@pytest.mark.integration
class TestUnavailableDependency:
    async def test_the_cause_is_logged_as_an_error(self, caplog: pytest.LogCaptureFixture) -> None:
        outage = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

        with caplog.at_level(logging.ERROR, logger=ERRORS_LOGGER):
            response = await response_when_a_route_raises(outage)

        assert response.status_code == 503
        [record] = records_of(caplog, logging.ERROR)
        assert repr(outage) in record.getMessage()


@pytest.mark.integration
class TestUnexpectedError:
    async def test_is_logged_with_the_request_id_the_client_got_and_the_traceback(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        failure = RuntimeError("a bug")

        with caplog.at_level(logging.ERROR, logger=ERRORS_LOGGER):
            response = await self._get_raising(failure, request_id="trace-the-bug")

        assert response.json()["request_id"] == "trace-the-bug"
        [record] = records_of(caplog, logging.ERROR)
        assert "request_id=trace-the-bug" in record.getMessage()
        assert "RuntimeError: a bug" in logged_traceback(record)

    @staticmethod
    async def _get_raising(error: Exception, *, request_id: str) -> Response:
        return await app_client.response_when_a_route_raises(create_app(), error, {"X-Request-ID": request_id})


@pytest.mark.integration
class TestDomainErrors:
    async def test_one_of_no_known_kind_is_a_400_with_its_code(self) -> None:
        response = await response_when_a_route_raises(DomainError("not acceptable input"))

        assert response.status_code == 400
        assert response.json()["code"] == DomainError.code


@pytest.mark.integration
class TestCaching:
    async def test_an_error_response_is_never_stored_by_caches(self) -> None:
        response = await response_when_a_route_raises(StarletteHTTPException(status_code=404))

        assert response.headers["cache-control"] == "no-store"


@pytest.mark.integration
class TestHttpErrors:
    async def test_a_status_without_a_code_of_its_own_is_http_error_with_its_detail(self) -> None:
        response = await response_when_a_route_raises(StarletteHTTPException(status_code=418, detail="I'm a teapot"))

        assert response.status_code == 418
        assert response.json()["code"] == "http_error"
        assert response.json()["detail"] == "I'm a teapot"


@pytest.fixture
def typed_app() -> FastAPI:
    application = create_app()

    @application.get("/typed")
    async def typed(count: int) -> int:
        return count

    return application


@pytest.mark.integration
class TestValidationErrors:
    async def test_each_problem_names_its_location_message_and_type(self, typed_app: FastAPI) -> None:
        async with AsyncClient(transport=ASGITransport(app=typed_app), base_url="http://test") as client:
            response = await client.get("/typed", params={"count": "many"})

        assert response.status_code == 422
        [problem] = response.json()["errors"]
        assert set(problem) == {"loc", "msg", "type"}
        assert problem["loc"] == ["query", "count"]
        assert problem["type"] == "int_parsing"
        assert problem["msg"]


class HangingStore:
    """A throttle store that accepts the connection and never answers."""

    async def ping(self) -> None:
        await asyncio.Event().wait()


@pytest.mark.integration
class TestReadiness:
    async def test_a_dependency_that_hangs_makes_the_service_unready_in_bounded_time(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("servicekit.health.CHECK_TIMEOUT_SECONDS", 0.05)
        application = create_app()
        application.state.login_throttle = HangingStore()

        async with AsyncClient(transport=ASGITransport(app=application), base_url="http://test") as client:
            async with asyncio.timeout(5):
                response = await client.get("/health/ready")

        assert response.status_code == 503
        assert response.json()["checks"]["throttle_store"] == "failed"
