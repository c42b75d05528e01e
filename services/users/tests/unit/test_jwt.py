"""Access tokens: what ``create_access_token`` signs and everything ``decode_access_token`` refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import SecretStr

from app.config import Settings
from app.exceptions import InvalidTokenError
from app.schemas.common import MAX_INT_ID
from app.utils.jwt import AccessTokenClaims, create_access_token, decode_access_token
from tests.support.auth import valid_claims

KEY = "unit-test-secret-key-" + "0123456789abcdef" * 4  # long enough for HS512 too
SETTINGS = Settings(environment="test", secret_key=SecretStr(KEY), access_token_ttl_seconds=600)


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid set of claims for user 42; ``...`` as a value removes that claim."""
    return valid_claims(42, SETTINGS, **overrides)


def sign(
    payload: dict[str, Any], *, key: str = KEY, algorithm: str = "HS256", headers: dict[str, Any] | None = None
) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"typ": "at+jwt"} if headers is None else headers)


def sign_by_hand(payload: dict[str, Any], *, key: str = KEY) -> str:
    """HS256 without PyJWT's encoder, which would refuse some of the odd values tried here."""
    signing_input = f"{json_segment({'alg': 'HS256', 'typ': 'at+jwt'})}.{json_segment(payload)}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_segment(value: Any) -> str:
    return b64url(json.dumps(value, default=lambda moment: int(moment.timestamp())).encode())


@pytest.mark.unit
class TestCreateAccessToken:
    def test_round_trip(self) -> None:
        token = create_access_token({"sub": "42"}, settings=SETTINGS)

        decoded = decode_access_token(token, settings=SETTINGS)

        assert decoded.user_id == 42
        assert decoded.session_id is None

    def test_header_pins_the_algorithm_and_the_token_type(self) -> None:
        token = create_access_token({"sub": "42"}, settings=SETTINGS)

        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "at+jwt"}

    def test_carries_every_required_claim(self) -> None:
        before = int(datetime.now(UTC).timestamp())

        token = create_access_token({"sub": 42}, settings=SETTINGS)

        payload = jwt.decode(token, options={"verify_signature": False})
        assert payload["sub"] == "42"
        assert payload["iss"] == SETTINGS.jwt_issuer
        assert payload["aud"] == SETTINGS.jwt_audience
        assert payload["type"] == "access"
        assert uuid.UUID(payload["jti"])
        assert before <= payload["iat"] == payload["nbf"]
        assert payload["exp"] - payload["iat"] == SETTINGS.access_token_ttl_seconds

    def test_expires_delta_sets_the_lifetime(self) -> None:
        token = create_access_token({"sub": "1"}, timedelta(seconds=90), settings=SETTINGS)

        payload = jwt.decode(token, options={"verify_signature": False})
        assert payload["exp"] - payload["iat"] == 90

    def test_every_token_has_its_own_jti(self) -> None:
        tokens = [create_access_token({"sub": "1"}, settings=SETTINGS) for _ in range(20)]

        assert len({decode_access_token(token, settings=SETTINGS).jti for token in tokens}) == 20

    def test_session_id_round_trips(self) -> None:
        session_id = uuid.uuid4()

        token = create_access_token({"sub": "7", "sid": session_id}, settings=SETTINGS)

        assert decode_access_token(token, settings=SETTINGS).session_id == session_id

    def test_data_cannot_override_the_security_claims(self) -> None:
        data = {"sub": "1", "type": "refresh", "iss": "evil", "aud": "evil", "exp": 9_999_999_999}

        token = create_access_token(data, settings=SETTINGS)

        payload = jwt.decode(token, options={"verify_signature": False})
        assert (payload["type"], payload["iss"], payload["aud"]) == (
            "access",
            SETTINGS.jwt_issuer,
            SETTINGS.jwt_audience,
        )
        assert payload["exp"] - payload["iat"] == SETTINGS.access_token_ttl_seconds

    def test_uses_the_configured_key(self) -> None:
        other = Settings(environment="test", secret_key=SecretStr("another-unit-test-key-" + "x" * 30))

        token = create_access_token({"sub": "1"}, settings=other)

        with pytest.raises(InvalidTokenError):
            decode_access_token(token, settings=SETTINGS)


@pytest.mark.unit
class TestDecodeAccessToken:
    @pytest.mark.parametrize("signer", [sign, sign_by_hand], ids=["pyjwt", "by-hand"])
    def test_accepts_a_valid_hand_signed_token(self, signer: Callable[[dict[str, Any]], str]) -> None:
        """The control for the refusals below: the helpers make acceptable tokens."""
        jti = uuid.uuid4()

        decoded = decode_access_token(signer(claims(jti=str(jti))), settings=SETTINGS)

        assert (decoded.user_id, decoded.jti) == (42, jti)

    @pytest.mark.parametrize(
        "make_token",
        [
            pytest.param(lambda: sign(claims(exp=datetime.now(UTC) - timedelta(seconds=1))), id="expired"),
            pytest.param(lambda: sign(claims(nbf=datetime.now(UTC) + timedelta(minutes=1))), id="not-yet-valid"),
            pytest.param(lambda: sign(claims(iat=datetime.now(UTC) + timedelta(minutes=1))), id="issued-in-the-future"),
            pytest.param(lambda: sign(claims(), key="some-other-key-" + "y" * 30), id="other-key"),
            pytest.param(lambda: sign(claims(), algorithm="HS512"), id="HS512-same-key"),
            pytest.param(lambda: sign(claims(), algorithm="HS384"), id="HS384-same-key"),
            pytest.param(
                lambda: f"{json_segment({'alg': 'none', 'typ': 'at+jwt'})}.{json_segment(claims())}.", id="alg-none"
            ),
            pytest.param(
                lambda: f"{json_segment({'alg': 'None', 'typ': 'at+jwt'})}.{json_segment(claims())}.", id="alg-None"
            ),
            pytest.param(lambda: sign(claims(), headers={}), id="no-typ"),
            pytest.param(lambda: sign(claims(), headers={"typ": "JWT"}), id="typ-JWT"),
            pytest.param(lambda: sign(claims(iss="someone-else")), id="wrong-iss"),
            pytest.param(lambda: sign(claims(aud="someone-else")), id="wrong-aud"),
            pytest.param(lambda: sign(claims(type="refresh")), id="wrong-type"),
            pytest.param(lambda: sign(claims(sub="abc")), id="non-numeric-sub"),
            pytest.param(lambda: sign(claims(sub="0")), id="sub-zero"),
            pytest.param(lambda: sign(claims(sub="-1")), id="sub-negative"),
            pytest.param(lambda: sign(claims(sub="2147483648")), id="sub-beyond-the-id-column"),
            pytest.param(lambda: sign(claims(sub="\uff11")), id="sub-non-ascii-digit"),
            pytest.param(lambda: sign(claims(sub=" 1")), id="sub-with-space"),
            pytest.param(lambda: sign(claims(sub="1_000")), id="sub-with-underscore"),
            pytest.param(lambda: sign(claims(jti="abc")), id="non-uuid-jti"),
            pytest.param(lambda: sign(claims(sid="abc")), id="non-uuid-sid"),
            pytest.param(lambda: sign(claims(exp=10**20)), id="exp-beyond-datetime"),
            *(
                pytest.param(lambda claim=claim: sign(claims(**{claim: ...})), id=f"without-{claim}")
                for claim in ("sub", "exp", "iat", "nbf", "jti", "iss", "aud", "type")
            ),
            pytest.param(lambda: "", id="empty"),
            pytest.param(lambda: "not.a.token", id="garbage"),
        ],
    )
    def test_refuses(self, make_token: Callable[[], str]) -> None:
        token = make_token()

        with pytest.raises(InvalidTokenError):
            decode_access_token(token, settings=SETTINGS)

    def test_refuses_a_tampered_payload(self) -> None:
        header, _, signature = sign(claims()).split(".")
        forged = json_segment(claims(sub="1"))

        with pytest.raises(InvalidTokenError):
            decode_access_token(f"{header}.{forged}.{signature}", settings=SETTINGS)

    def test_accepts_the_largest_user_id(self) -> None:
        assert decode_access_token(sign(claims(sub="2147483647")), settings=SETTINGS).user_id == 2_147_483_647

    @given(st.text())
    @example("..")
    @example("e30.e30.")
    @example("eyJhbGciOiJub25lIn0.e30.")
    def test_arbitrary_text_only_ever_raises_invalid_token(self, token: str) -> None:
        with pytest.raises(InvalidTokenError):
            decode_access_token(token, settings=SETTINGS)

    @given(st.lists(st.binary(max_size=64), min_size=1, max_size=4))
    def test_arbitrary_segments_only_ever_raise_invalid_token(self, segments: list[bytes]) -> None:
        token = ".".join(b64url(segment) for segment in segments)

        with pytest.raises(InvalidTokenError):
            decode_access_token(token, settings=SETTINGS)

    @given(
        user_id=st.integers(min_value=1, max_value=MAX_INT_ID),
        jti=st.uuids(),
        session_id=st.none() | st.uuids(),
        lifetime=st.integers(min_value=60, max_value=365 * 24 * 3600),
        extra=st.dictionaries(st.sampled_from(["scope", "name", "roles"]), st.text(max_size=20) | st.integers()),
        signer=st.sampled_from([sign, sign_by_hand]),
    )
    def test_generated_valid_claims_decode_to_what_was_signed(
        self,
        *,
        user_id: int,
        jti: uuid.UUID,
        session_id: uuid.UUID | None,
        lifetime: int,
        extra: dict[str, Any],
        signer: Callable[[dict[str, Any]], str],
    ) -> None:
        """The other half of the refusals: a decoder that refused every token would fail here."""
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lifetime)
        token = signer(
            claims(
                sub=str(user_id),
                jti=str(jti),
                sid=str(session_id) if session_id is not None else ...,
                exp=expires_at,
                **extra,
            )
        )

        decoded = decode_access_token(token, settings=SETTINGS)

        assert decoded == AccessTokenClaims(user_id, jti, expires_at, session_id)

    @given(
        user_id=st.integers(min_value=1, max_value=MAX_INT_ID),
        session_id=st.none() | st.uuids(),
        # Not a second or two: `exp` is whole seconds, so a 1 s token signed at x.99 s has expired
        # at x+1 s, before a slow machine decodes it (seen under load: ExpiredSignatureError).
        lifetime=st.integers(min_value=60, max_value=365 * 24 * 3600),
    )
    def test_created_tokens_decode_to_what_was_asked(
        self, user_id: int, session_id: uuid.UUID | None, lifetime: int
    ) -> None:
        before = datetime.now(UTC).replace(microsecond=0)
        token = create_access_token({"sub": user_id, "sid": session_id}, timedelta(seconds=lifetime), settings=SETTINGS)

        decoded = decode_access_token(token, settings=SETTINGS)

        assert (decoded.user_id, decoded.session_id) == (user_id, session_id)
        assert (
            before + timedelta(seconds=lifetime)
            <= decoded.expires_at
            <= datetime.now(UTC) + timedelta(seconds=lifetime)
        )

    @given(
        st.dictionaries(
            st.sampled_from(["sub", "exp", "iat", "nbf", "jti", "sid", "type", "iss", "aud"]),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                max_leaves=5,
            ),
            max_size=4,
        )
    )
    @example({"exp": 10**20})
    @example({"exp": float("inf")})
    @example({"sid": [1]})
    def test_correctly_signed_odd_claims_are_decoded_or_refused_cleanly(self, odd: dict[str, Any]) -> None:
        """Even with our own signature, a weird claim value never escapes as another exception."""
        token = sign_by_hand(claims(**odd))

        try:
            decoded = decode_access_token(token, settings=SETTINGS)
        except InvalidTokenError:
            return
        assert isinstance(decoded.user_id, int)
        assert isinstance(decoded.jti, uuid.UUID)
        assert decoded.expires_at.tzinfo is not None
