"""The users-service client against respx: answers, timeouts, 5xx, malformed bodies, redirects, breaker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from stamina.instrumentation import RetryDetails, get_on_retry_hooks, set_on_retry_hooks

from app.clients.users import RemoteUser, UsersClient, create_users_client
from app.config import Settings
from app.exceptions import NotAuthenticatedError, UserNotFoundError, UsersServiceUnavailableError

pytestmark = pytest.mark.unit

BASE = "http://users.test"
ME = f"{BASE}/api/v1/users/me"
USER_7 = f"{BASE}/api/v1/users/7"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        users_service_url=BASE,
        users_retry_attempts=3,
        users_retry_initial_wait_seconds=0,
        users_breaker_threshold=2,
        users_breaker_ttl_seconds=20,  # not purgatory's default (30): the setting is what counts
        users_deadline_seconds=2,
    )


@pytest.fixture
def users_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(settings: Settings, users_mock: respx.MockRouter) -> AsyncIterator[UsersClient]:
    users_client = create_users_client(settings)
    yield users_client
    await users_client.aclose()


def user(user_id: int = 7, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"id": user_id, "username": "someone", **extra})


def not_found() -> httpx.Response:
    return httpx.Response(404, json={"detail": "User not found", "code": "user_not_found"})


async def test_current_user_sends_the_token(client: UsersClient, users_mock: respx.MockRouter) -> None:
    """Outside a request no request id is sent (inside one, the served request's id is:
    ``test_the_callers_own_token_and_request_id_go_to_the_users_service``)."""
    route = users_mock.get(ME).mock(return_value=user())

    found = await client.current_user("tok")

    assert found == RemoteUser(id=7)
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"
    assert "X-Request-ID" not in route.calls.last.request.headers


async def test_every_request_names_its_sender_and_asks_for_json(
    client: UsersClient, users_mock: respx.MockRouter
) -> None:
    """The users service's logs and metrics tell the orders service's calls from others' by them."""
    route = users_mock.get(ME).mock(return_value=user())

    await client.current_user("tok")

    sent = route.calls.last.request.headers
    assert (sent["User-Agent"], sent["Accept"]) == ("orders-service", "application/json")


async def test_a_refused_token_is_not_authenticated(client: UsersClient, users_mock: respx.MockRouter) -> None:
    route = users_mock.get(ME).mock(return_value=httpx.Response(401, json={"detail": "no", "code": "invalid_token"}))

    with pytest.raises(NotAuthenticatedError):
        await client.current_user("tok")
    assert route.call_count == 1


async def test_get_user_returns_the_user(client: UsersClient, users_mock: respx.MockRouter) -> None:
    users_mock.get(USER_7).mock(return_value=user(created_at="2024-01-01T00:00:00Z"))

    assert await client.get_user(7) == RemoteUser(id=7)


async def test_a_missing_user_is_not_found_and_not_retried(client: UsersClient, users_mock: respx.MockRouter) -> None:
    route = users_mock.get(USER_7).mock(return_value=not_found())

    with pytest.raises(UserNotFoundError) as raised:
        await client.get_user(7)
    assert raised.value.user_id == 7
    assert route.call_count == 1


async def test_a_404_that_is_not_the_users_service_s_is_unavailable(
    client: UsersClient, users_mock: respx.MockRouter
) -> None:
    users_mock.get(USER_7).mock(return_value=httpx.Response(404, json={"detail": "Not Found"}))

    with pytest.raises(UsersServiceUnavailableError):
        await client.get_user(7)


async def test_another_users_answer_is_not_trusted(client: UsersClient, users_mock: respx.MockRouter) -> None:
    users_mock.get(USER_7).mock(return_value=user(8))

    with pytest.raises(UsersServiceUnavailableError):
        await client.get_user(7)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(404, json={"detail": "Not Found"}), "unexpected status 404"),
        (user(8), "asked for user 7, the users service answered user 8"),
        (httpx.Response(200, json={"id": "seven"}), "the users service answered a malformed user"),
    ],
    ids=["status", "another-user", "malformed"],
)
async def test_an_unavailable_answer_keeps_its_reason_for_the_workers_retry_record(
    client: UsersClient, users_mock: respx.MockRouter, answer: httpx.Response, reason: str
) -> None:
    """What the worker records with a retry (``str(error)``); callers' 503s show the default detail."""
    users_mock.get(USER_7).mock(return_value=answer)

    with pytest.raises(UsersServiceUnavailableError) as raised:
        await client.get_user(7)

    assert str(raised.value) == reason
    assert raised.value.message == UsersServiceUnavailableError.default_message


async def test_a_hiccup_is_ridden_out_by_a_retry(client: UsersClient, users_mock: respx.MockRouter) -> None:
    route = users_mock.get(ME).mock(side_effect=[httpx.Response(503), httpx.ConnectError("refused"), user()])

    assert await client.current_user("tok") == RemoteUser(id=7)
    assert route.call_count == 3


@pytest.fixture
def retry_waits() -> Iterator[list[float]]:
    """The wait before each retry, as stamina schedules it (its retry hooks see it before it sleeps)."""
    waits: list[float] = []
    previous = get_on_retry_hooks()

    def record(details: RetryDetails) -> None:
        waits.append(details.wait_for)

    set_on_retry_hooks([record])
    yield waits
    set_on_retry_hooks(previous)


async def test_retries_back_off_exponentially_from_the_initial_wait_with_as_much_jitter(
    client: UsersClient, users_mock: respx.MockRouter, settings: Settings, retry_waits: list[float]
) -> None:
    settings.users_retry_initial_wait_seconds = 0.01
    settings.users_retry_attempts = 4
    settings.users_deadline_seconds = 30  # retries stop at the deadline: a slow machine must not stop them here
    users_mock.get(ME).mock(return_value=httpx.Response(503))

    with pytest.raises(UsersServiceUnavailableError):
        await client.current_user("tok")

    backoffs = [0.01, 0.02, 0.04]
    assert len(retry_waits) == len(backoffs)
    for wait, backoff in zip(retry_waits, backoffs, strict=True):
        assert backoff - 1e-9 <= wait <= backoff + 0.01 + 1e-9  # the backoff plus up to the initial wait


async def test_no_wait_between_attempts_is_longer_than_half_the_deadline(
    client: UsersClient, users_mock: respx.MockRouter, settings: Settings, retry_waits: list[float]
) -> None:
    """Whatever the backoff settings, a retry still fits in the overall deadline."""
    settings.users_retry_initial_wait_seconds = 100
    settings.users_retry_attempts = 2
    users_mock.get(ME).mock(return_value=httpx.Response(503))

    with pytest.raises(UsersServiceUnavailableError):
        await client.current_user("tok")

    assert retry_waits == [settings.users_deadline_seconds / 2]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        pytest.param(httpx.Response(500), "GET /api/v1/users/me: 500", id="500"),
        pytest.param(httpx.Response(502), "GET /api/v1/users/me: 502", id="502"),
        pytest.param(httpx.Response(504), "GET /api/v1/users/me: 504", id="504"),
        pytest.param(httpx.Response(429), "GET /api/v1/users/me: 429", id="429"),
        pytest.param(httpx.ReadTimeout("slow"), "GET /api/v1/users/me: ReadTimeout('slow')", id="read-timeout"),
    ],
)
async def test_persistent_failure_is_unavailable_after_bounded_attempts(
    client: UsersClient, users_mock: respx.MockRouter, failure: httpx.Response | Exception, reason: str
) -> None:
    """The reason (what the worker records with a retry) is the last attempt's failure."""
    route = users_mock.get(ME).mock(side_effect=[failure] * 5)

    with pytest.raises(UsersServiceUnavailableError) as raised:
        await client.current_user("tok")
    assert route.call_count == 3
    assert raised.value.retry_after_seconds >= 1
    assert str(raised.value) == reason


MALFORMED_USER = "the users service answered a malformed user"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        pytest.param(
            httpx.Response(200, text="<html>not json</html>"), "GET /api/v1/users/me: body is not JSON", id="html"
        ),
        pytest.param(
            httpx.Response(200, json=[{"id": 7}]), "GET /api/v1/users/me: body is not a JSON object", id="array"
        ),
        pytest.param(httpx.Response(200, json={"id": "7"}), MALFORMED_USER, id="string-id"),
        pytest.param(httpx.Response(200, json={"id": 0}), MALFORMED_USER, id="zero-id"),
        pytest.param(httpx.Response(200, json={"username": "no id"}), MALFORMED_USER, id="no-id"),
        pytest.param(
            httpx.Response(200, content=b'{"id": 7, "pad": "' + b"x" * 70_000 + b'"}'),
            "response of 70020 bytes declared, at most 65536 accepted",
            id="oversized",
        ),
        # Refused on the declared length alone, before a byte of the (valid) body is read.
        pytest.param(
            httpx.Response(200, headers={"Content-Length": "999999"}, content=b'{"id": 7}'),
            "response of 999999 bytes declared, at most 65536 accepted",
            id="declared-oversized",
        ),
        pytest.param(
            httpx.Response(200, headers={"Content-Length": "lots"}, content=b'{"id": 7}'),
            "response of lots bytes declared, at most 65536 accepted",
            id="declared-nonsense",
        ),
        pytest.param(
            httpx.Response(302, headers={"Location": "http://evil.test/api/v1/users/me"}),
            "GET /api/v1/users/me: unexpected status 302",
            id="redirect",
        ),
        pytest.param(
            httpx.Response(403, json={"detail": "forbidden", "code": "permission_denied"}),
            "GET /api/v1/users/me: unexpected status 403",
            id="403",
        ),
    ],
)
async def test_an_untrustworthy_response_is_an_error_and_not_retried(
    client: UsersClient, users_mock: respx.MockRouter, response: httpx.Response, reason: str
) -> None:
    route = users_mock.get(ME).mock(return_value=response)

    with pytest.raises(UsersServiceUnavailableError) as raised:
        await client.current_user("tok")
    assert route.call_count == 1
    assert str(raised.value) == reason


def body_of(size: int) -> bytes:
    """A user's body padded to exactly ``size`` bytes."""
    empty = b'{"id": 7, "pad": ""}'
    return empty[:-2] + b"x" * (size - len(empty)) + empty[-2:]


async def test_a_body_of_exactly_the_limit_is_accepted(
    client: UsersClient, users_mock: respx.MockRouter, settings: Settings
) -> None:
    users_mock.get(ME).mock(return_value=httpx.Response(200, content=body_of(settings.users_max_response_bytes)))

    assert await client.current_user("tok") == RemoteUser(id=7)


async def test_a_body_streamed_in_pieces_is_read_whole(client: UsersClient, users_mock: respx.MockRouter) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b'{"id"', b": 7, ", b'"username": "someone"}'):
            yield piece

    users_mock.get(ME).mock(return_value=httpx.Response(200, content=chunks()))

    assert await client.current_user("tok") == RemoteUser(id=7)


async def test_a_streamed_body_longer_than_the_limit_is_refused(
    client: UsersClient, users_mock: respx.MockRouter
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"id": 7, "pad": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    users_mock.get(ME).mock(return_value=httpx.Response(200, content=chunks()))

    with pytest.raises(UsersServiceUnavailableError) as raised:
        await client.current_user("tok")
    assert str(raised.value) == "response longer than 65536 bytes"


async def test_the_overall_deadline_bounds_a_hanging_service(settings: Settings, users_mock: respx.MockRouter) -> None:
    settings.users_deadline_seconds = 0.2
    settings.users_read_timeout_seconds = 5

    async def hang(_request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return user()

    users_mock.get(ME).mock(side_effect=hang)
    users_client = create_users_client(settings)
    try:
        with pytest.raises(UsersServiceUnavailableError) as raised:
            await users_client.current_user("tok")
        assert str(raised.value) == "GET /api/v1/users/me: no answer within 0.2 s"
    finally:
        await users_client.aclose()


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """purgatory's and the client's clock, moved by hand."""
    fake = FakeClock(1_000_000.0)
    monkeypatch.setattr("purgatory.domain.model.time", fake)
    monkeypatch.setattr("app.clients.users.time", fake)
    return fake


async def open_the_breaker(client: UsersClient, users_mock: respx.MockRouter) -> respx.Route:
    route = users_mock.get(ME).mock(return_value=httpx.Response(503))
    for _ in range(2):
        with pytest.raises(UsersServiceUnavailableError):
            await client.current_user("tok")
    return route


async def test_the_open_breaker_refuses_without_calling(
    client: UsersClient, users_mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = await open_the_breaker(client, users_mock)
    calls = route.call_count
    clock.now += 5

    with pytest.raises(UsersServiceUnavailableError) as raised:
        await client.current_user("tok")
    assert route.call_count == calls
    assert raised.value.retry_after_seconds == 15
    assert str(raised.value) == "circuit breaker open"


async def test_the_open_breaker_s_last_second_is_a_retry_after_of_one(
    client: UsersClient, users_mock: respx.MockRouter, clock: FakeClock
) -> None:
    """Retry-After rounds the time left up to a whole second, and promises no later than that."""
    await open_the_breaker(client, users_mock)
    clock.now += 19.5

    with pytest.raises(UsersServiceUnavailableError) as raised:
        await client.current_user("tok")
    assert raised.value.retry_after_seconds == 1


async def test_half_open_a_success_closes_the_breaker(
    client: UsersClient, users_mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = await open_the_breaker(client, users_mock)
    clock.now += 21
    route.mock(return_value=user())

    assert await client.current_user("tok") == RemoteUser(id=7)
    assert await client.current_user("tok") == RemoteUser(id=7)


async def test_half_open_a_failure_opens_it_again(
    client: UsersClient, users_mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = await open_the_breaker(client, users_mock)
    clock.now += 21
    with pytest.raises(UsersServiceUnavailableError):
        await client.current_user("tok")
    calls = route.call_count
    route.mock(return_value=user())

    with pytest.raises(UsersServiceUnavailableError):
        await client.current_user("tok")
    assert route.call_count == calls


async def test_refused_tokens_and_missing_users_do_not_open_the_breaker(
    client: UsersClient, users_mock: respx.MockRouter
) -> None:
    users_mock.get(ME).mock(return_value=httpx.Response(401, json={"detail": "no", "code": "invalid_token"}))
    users_mock.get(USER_7).mock(return_value=not_found())
    for _ in range(3):
        with pytest.raises(NotAuthenticatedError):
            await client.current_user("tok")
        with pytest.raises(UserNotFoundError):
            await client.get_user(7)


async def test_abandoned_calls_do_not_open_the_breaker(client: UsersClient, users_mock: respx.MockRouter) -> None:
    started = asyncio.Event()

    async def hang(_request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()
        return user()

    route = users_mock.get(ME).mock(side_effect=hang)
    for _ in range(3):
        started.clear()
        call = asyncio.create_task(client.current_user("tok"))
        reached = asyncio.create_task(started.wait())
        await asyncio.wait({call, reached}, return_when=asyncio.FIRST_COMPLETED)
        reached.cancel()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):  # not refused by an open breaker
            await call
    route.mock(return_value=user())

    assert await client.current_user("tok") == RemoteUser(id=7)


async def test_the_client_does_not_follow_redirects(client: UsersClient, settings: Settings) -> None:
    http = client._http  # noqa: SLF001 - the configuration is what this test checks

    assert http.follow_redirects is False
    assert http.timeout.connect == settings.users_connect_timeout_seconds
    assert http.timeout.read == settings.users_read_timeout_seconds
    assert str(http.base_url) == f"{BASE}"
