"""Property: whatever JSON-ish body arrives, registration and login never answer 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import AsyncClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

#: Function-scoped fixtures (``client``) are shared by every example of one test: that is
#: intended here, each example is an independent request.
FUZZ_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

huge_ints = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64, 10**400]),
)
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(lambda value: value + "\x00"),
    st.sampled_from(["", " ", "\x00", "a@b", "é@例え.jp", "x" * 129, "\u202e", "\ufeff"]),
)
emails = st.one_of(st.emails(), texts)
passwords = st.one_of(st.text(min_size=8, max_size=128), texts)
scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(allow_nan=True, allow_infinity=True), texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
extra_fields = st.dictionaries(
    st.sampled_from(["is_active", "is_verified", "id", "hashed_password", "role"]), json_values, max_size=2
)


def near_valid(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the expected keys (some missing), values that are often almost right."""
    return st.fixed_dictionaries({}, optional=fields).flatmap(
        lambda body: extra_fields.map(lambda extra: {**body, **extra})
    )


valid_passwords = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=8, max_size=128)
valid_registrations = st.fixed_dictionaries(
    {
        "email": st.emails(),
        "username": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,49}", fullmatch=True),
        "password": valid_passwords,
    }
)
registrations = st.one_of(
    valid_registrations,
    near_valid(
        {"email": emails, "username": st.one_of(st.from_regex(r"[A-Za-z0-9_.-]{1,52}"), texts), "password": passwords}
    ),
    json_values,
)
logins = st.one_of(
    st.fixed_dictionaries({"email": st.emails(), "password": valid_passwords}),
    near_valid({"email": emails, "password": passwords}),
    json_values,
)


def encode(payload: Any, ascii_only: bool) -> bytes:
    # allow_nan: NaN and Infinity are not JSON, which is part of the point.
    return json.dumps(payload, ensure_ascii=ascii_only, allow_nan=True).encode("utf-8", "surrogatepass")


async def post_raw(client: AsyncClient, path: str, body: bytes) -> int:
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, f"{response.status_code} for {body[:200]!r}: {response.text[:500]}"
    if response.status_code >= 400:
        assert response.json()["code"]
    event(f"{path} -> {response.status_code}")
    return response.status_code


@pytest.mark.integration
class TestInputFuzz:
    @FUZZ_SETTINGS
    @given(payload=registrations, ascii_only=st.booleans())
    async def test_registration_never_answers_5xx(self, client: AsyncClient, payload: Any, ascii_only: bool) -> None:
        status = await post_raw(client, "/api/v1/users", encode(payload, ascii_only))

        assert status in (201, 409, 422)

    @FUZZ_SETTINGS
    @given(payload=logins, ascii_only=st.booleans())
    async def test_login_never_answers_5xx(self, client: AsyncClient, payload: Any, ascii_only: bool) -> None:
        status = await post_raw(client, "/api/v1/auth/login", encode(payload, ascii_only))

        assert status in (401, 422, 429)

    @FUZZ_SETTINGS
    @given(body=st.binary(max_size=300), path=st.sampled_from(["/api/v1/users", "/api/v1/auth/login"]))
    async def test_arbitrary_bytes_never_answer_5xx(self, client: AsyncClient, body: bytes, path: str) -> None:
        status = await post_raw(client, path, body)

        # 400: not UTF-8 at all, so not even JSON text.
        assert status in (201, 400, 401, 409, 422, 429)
