"""Property tests: whatever arrives, attest answers with a domain error, never anything else.

Hypothesis generates arbitrary strings and bytes, real tokens mutated segment by segment, tokens
signed by the profile's own key over arbitrary claims, and arbitrary JSON request bodies. Example
counts are modest so the suite stays fast; raise them locally with the ``deep``
profile (``HYPOTHESIS_PROFILE=deep``, 5000 examples each) when hunting.
"""

from __future__ import annotations

import base64
import json
import os
import string
import time
from typing import Any

import jwt
import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trusted_auth.attest import AttestRequest, attest
from trusted_auth.errors import TrustedAuthError
from trusted_auth.models import Session

from .issuers import default_claims

settings.register_profile(
    "trusted_auth",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "trusted_auth"))

B64URL = string.ascii_letters + string.digits + "-_"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def b64url(data: bytes | str) -> str:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def attest_refuses(profile, token: Any, **fields: Any) -> TrustedAuthError | None:
    """Run the attest service; return its domain error, or None when it accepted the token.
    Any other exception propagates and fails the property."""
    try:
        attest(AttestRequest(profile_id=profile.profile_id, token=token, **fields))
    except TrustedAuthError as error:
        assert error.status_code in (400, 401, 403, 404, 409, 413, 429, 503), error
        return error
    return None


@pytest.fixture
def real_token(token_factory):
    return token_factory()


@given(
    token=st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
        st.lists(st.text(alphabet=B64URL + ".=+/ \n\x00", max_size=60), max_size=6).map(".".join),
        st.just("a" * 9000),
        json_values,
    )
)
def test_arbitrary_input_is_refused_with_a_domain_error(pem_profile, token):
    assert attest_refuses(pem_profile, token, session_duration_minutes=60) is not None
    assert Session.objects.count() == 0


def _mutate_segment(segment: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend", "replace", "empty"]))
    if kind == "flip" and segment:
        i = data.draw(st.integers(0, len(segment) - 1))
        return segment[:i] + data.draw(st.sampled_from(B64URL + "=.+/")) + segment[i + 1 :]
    if kind == "truncate":
        return segment[: data.draw(st.integers(0, len(segment)))]
    if kind == "extend":
        return segment + data.draw(st.text(alphabet=B64URL, min_size=1, max_size=8))
    if kind == "replace":
        return b64url(json.dumps(data.draw(json_values)))
    return ""


@given(data=st.data())
def test_mutated_real_tokens_are_refused(pem_profile, real_token, data):
    segments = real_token.split(".")
    structure = data.draw(st.sampled_from(["mutate", "reorder", "drop", "duplicate", "header"]))
    if structure == "mutate":
        index = data.draw(st.integers(0, 2))
        segments[index] = _mutate_segment(segments[index], data)
    elif structure == "reorder":
        permutation = data.draw(st.permutations(segments).filter(lambda p: p != segments))
        segments = list(permutation)
    elif structure == "drop":
        del segments[data.draw(st.integers(0, 2))]
    elif structure == "duplicate":
        segments.insert(data.draw(st.integers(0, 3)), segments[data.draw(st.integers(0, 2))])
    else:  # a new header over the original payload and signature
        header = data.draw(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
        header.setdefault("alg", data.draw(st.sampled_from(["RS256", "ES256", "none", "HS256"])))
        segments[0] = b64url(json.dumps(header))
    token = ".".join(segments)
    if token == real_token:
        return
    assert attest_refuses(pem_profile, token, session_duration_minutes=60) is not None
    assert Session.objects.count() == 0


CLAIM_NAMES = ["iss", "aud", "exp", "iat", "nbf", "email", "email_verified", "jti", "sub"]


@given(
    overrides=st.dictionaries(st.sampled_from(CLAIM_NAMES), json_values, min_size=1, max_size=4),
    headers=st.dictionaries(
        st.sampled_from(["kid", "typ", "crit", "jku", "x5c", "b64", "cty", "zip"]),
        json_values,
        max_size=2,
    ),
)
def test_signed_tokens_with_arbitrary_claims_never_break_verification(
    pem_profile, signer, overrides, headers
):
    """Signed by the profile's own key, so every claim check runs on hostile values. Accepted
    only when the claims are in fact acceptable; without a duration no session starts."""
    claims = default_claims(**overrides)
    try:
        token = signer.sign(claims, headers={k: v for k, v in headers.items() if k != "kid"})
    except (TypeError, ValueError, jwt.PyJWTError):
        return  # PyJWT will not encode it (e.g. a non-string iss); nothing to send
    error = attest_refuses(pem_profile, token)
    if error is None:
        assert isinstance(claims["email"], str) and claims["email"].isascii()
        assert isinstance(claims["jti"], str) and claims["jti"].strip()
        assert claims["iss"] == pem_profile.issuer
    assert Session.objects.count() == 0


BODY_FIELDS = [
    "profile_id",
    "token",
    "session_duration_minutes",
    "session_custom_claims",
    "session_token",
    "session_jwt",
    "session_id",
    "member_session_id",
    "member_id",
    "telemetry_id",
    "organization_id",
]


@given(
    body=st.one_of(
        json_values, st.dictionaries(st.sampled_from(BODY_FIELDS), json_values, max_size=6)
    )
)
@settings(max_examples=settings.default.max_examples // 2)
@pytest.mark.parametrize(
    "url",
    [
        "/v1/sessions/attest",
        "/v1/b2b/sessions/attest",
        "/v1/sessions/authenticate",
        "/v1/b2b/sessions/authenticate",
        "/v1/sessions/revoke",
        "/v1/b2b/sessions/revoke",
    ],
)
def test_arbitrary_json_bodies_never_500(api, pem_profile, url, body):
    response = api.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code < 500, response.json()
    assert {"status_code", "request_id"} <= response.json().keys()


SESSION_JWT_CLAIMS = ["iss", "aud", "exp", "iat", "nbf", "sub", "jti"]


def session_jwt_values(now: int):
    """Hostile values, and the near-miss ones a verifier gets wrong: our issuer and project in
    other shapes, times either side of now (far enough that the two checks agree), numbers as
    strings, floats, booleans."""
    issuer, project = (
        django_settings.TRUSTED_AUTH["ISSUER"],
        django_settings.TRUSTED_AUTH["PROJECT_ID"],
    )
    times = st.sampled_from([now - 10**6, now - 100, now + 100, now + 10**6])
    return st.one_of(
        json_values,
        st.sampled_from([issuer, project, [project], [project, 1], [], "", issuer + "/", None]),
        times,
        times.map(float),
        times.map(str),
        st.sampled_from([True, False, float("inf"), float("nan"), 10**400]),
    )


@given(data=st.data())
def test_the_session_jwt_check_answers_as_jwt_decode_does(db, data):
    """``verify_session_jwt`` (its memory of verified tokens included) accepts what
    ``jwt.decode`` accepts with the same key, claims and options, and returns the same claims;
    it refuses everything else with ``SessionNotFound``."""
    from trusted_auth.errors import SessionNotFound
    from trusted_auth.sessions.session_jwt import REQUIRED_CLAIMS, verify_session_jwt
    from trusted_auth.sessions.signing_keys import current_signing_key, keyring, private_key

    signing_key = current_signing_key()
    verifier = keyring().verifiers[signing_key.kid]
    now = int(time.time())
    claims = {
        "iss": django_settings.TRUSTED_AUTH["ISSUER"],
        "aud": [django_settings.TRUSTED_AUTH["PROJECT_ID"]],
        "sub": "user-fuzz",
        "iat": now - 100,
        "nbf": now - 100,
        "exp": now + 100,
        "https://stytch.com/session": {"id": "session-fuzz"},
    }
    claims.update(
        data.draw(
            st.dictionaries(
                st.sampled_from(SESSION_JWT_CLAIMS), session_jwt_values(now), max_size=3
            ),
            label="claims",
        )
    )
    for name in data.draw(st.lists(st.sampled_from(SESSION_JWT_CLAIMS), max_size=2), "drop"):
        claims.pop(name, None)
    headers = data.draw(
        st.dictionaries(
            st.sampled_from(["typ", "alg", "crit", "b64", "cty", "x5u"]), json_values, max_size=2
        ),
        label="headers",
    )
    headers["kid"] = signing_key.kid
    try:
        token = jwt.encode(claims, private_key(signing_key), algorithm="RS256", headers=headers)
    except (TypeError, ValueError, OverflowError, NotImplementedError, jwt.PyJWTError):
        return  # PyJWT will not write it (a non-JSON value, an unknown alg): nothing to compare
    padded = data.draw(st.booleans(), label="append to a segment")
    if padded:
        segments = token.split(".")
        index = data.draw(st.integers(0, 2))
        segments[index] += data.draw(st.sampled_from(["=", "==", " ", "+", "\n"]))
        token = ".".join(segments)
    verify_exp = data.draw(st.booleans(), label="verify_exp")

    def check(verify):
        try:
            return verify()
        except (jwt.PyJWTError, ValueError, TypeError, UnicodeError) as error:
            return error

    theirs = check(
        lambda: jwt.decode(
            token,
            verifier,
            algorithms=["RS256"],
            audience=django_settings.TRUSTED_AUTH["PROJECT_ID"],
            issuer=django_settings.TRUSTED_AUTH["ISSUER"],
            options={"require": REQUIRED_CLAIMS, "verify_exp": verify_exp},
        )
    )
    try:
        ours = verify_session_jwt(token, allow_expired=not verify_exp)
    except SessionNotFound as error:
        ours = error
    if isinstance(theirs, dict):
        assert ours == theirs
    else:
        assert isinstance(ours, SessionNotFound), (ours, theirs)
