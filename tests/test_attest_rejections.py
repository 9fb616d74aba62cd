"""Every way ``POST /v1/sessions/attest`` refuses a token or a request (DESIGN.md §1 and §4).

Each rejection is checked the way a user sees it: the HTTP status, the Stytch error envelope,
no session row, and one audit event with outcome ``failure`` and the same ``error_type``.
The few accepted variants next to them (an ``aud`` list, ignored header parameters, values at
a limit) show that the check is precise, not that everything is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from jwt.warnings import InsecureKeyLengthWarning

from trusted_auth.models import AuditEvent, Session

from .issuers import AUDIENCE, DROP, SigningPair

ATTEST_URL = "/v1/sessions/attest"
ENVELOPE_FIELDS = {"status_code", "request_id", "error_type", "error_message", "error_url"}
INVALID = "invalid_trusted_auth_token"
CLAIMS = "jwt_invalid_claims"


def post_attest(api, profile_id: str, token: Any, **fields: Any):
    return api.post(ATTEST_URL, {"profile_id": profile_id, "token": token, **fields}, format="json")


def assert_rejected(
    response, status: int, error_type: str, message: str | None = None, *, sessions: int = 0
) -> AuditEvent:
    """The refusal a client sees, and what it leaves behind: no new session, one failure event.

    Returns the failure event. ``message`` is a fragment of ``error_message`` that names the
    failing check, so a test cannot pass because some earlier step happened to refuse.
    """
    body = response.json()
    assert response.status_code == status, body
    assert ENVELOPE_FIELDS <= body.keys(), body
    assert body["status_code"] == status
    assert body["error_type"] == error_type, body
    assert body["request_id"].startswith("request-id-")
    assert body["error_url"].startswith("https://")
    if message is not None:
        assert message in body["error_message"], body["error_message"]
    assert Session.objects.count() == sessions
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None, "no audit event was written"
    assert (event.outcome, event.error_type) == ("failure", error_type)
    assert event.error_message == body["error_message"][:500]
    assert event.session_id == ""
    return event


def b64url(data: bytes | str | dict | list) -> str:
    if isinstance(data, dict | list):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: Any, payload: Any = None, signature: bytes = b"not-a-signature") -> str:
    """A compact token with exactly these parts, for headers no JWT library would write."""
    return ".".join(
        [
            b64url(header),
            b64url(payload if payload is not None else {"sub": "x"}),
            b64url(signature),
        ]
    )


# --- 1. size, before any parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda sign: sign(padding="x" * 9000), id="signed-token-over-8KiB"),
        pytest.param(lambda sign: "a" * (8 * 1024 + 1), id="garbage-over-8KiB-is-not-parsed"),
        pytest.param(lambda sign: "\u00e9" * 4097, id="limit-counts-utf8-bytes-not-characters"),
    ],
)
def test_token_over_the_size_cap(api, pem_profile, token_factory, make_token):
    response = post_attest(api, pem_profile.profile_id, make_token(token_factory))
    assert_rejected(response, 401, INVALID, "larger than 8192 bytes")


def test_token_just_under_the_size_cap_is_accepted(api, pem_profile, token_factory):
    token = token_factory(padding="x" * 5580)
    assert 7 * 1024 < len(token) <= 8 * 1024
    response = post_attest(api, pem_profile.profile_id, token)
    assert response.status_code == 200, response.json()


# --- 2. compact form and header ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make_token, message",
    [
        pytest.param(lambda t: ".".join(t.split(".")[:2]), "not 2", id="2-segments"),
        pytest.param(lambda t: t + ".extra", "not 4", id="4-segments"),
        pytest.param(
            lambda t: "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d",
            "JWE is not accepted",
            id="5-segments-JWE",
        ),
        pytest.param(lambda t: t.split(".")[0] + "..", "empty segment", id="empty-segments"),
    ],
)
def test_token_that_is_not_a_compact_jws(api, pem_profile, token_factory, make_token, message):
    response = post_attest(api, pem_profile.profile_id, make_token(token_factory()))
    assert_rejected(response, 401, INVALID, message)


@pytest.mark.parametrize(
    "header, message",
    [
        pytest.param(b"not json at all", "not base64url-encoded JSON", id="header-not-json"),
        pytest.param(b"\xff\xfe{}", "not UTF-8 JSON", id="header-not-utf8"),
        pytest.param(b'["RS256"]', "not a JSON object", id="header-json-array"),
        pytest.param(b'"RS256"', "not a JSON object", id="header-json-string"),
        pytest.param(b"null", "not a JSON object", id="header-json-null"),
    ],
)
def test_header_that_is_not_a_json_object(api, pem_profile, token_factory, header, message):
    _, payload, signature = token_factory().split(".")
    token = ".".join([b64url(header), payload, signature])
    response = post_attest(api, pem_profile.profile_id, token)
    assert_rejected(response, 401, INVALID, message)


@pytest.mark.parametrize(
    "alg",
    [
        pytest.param("none", id="none"),
        pytest.param("None", id="None-mixed-case"),
        pytest.param("rs256", id="lowercase-rs256"),
        pytest.param("HS512", id="HS512"),
        pytest.param(["RS256"], id="alg-as-list"),
        pytest.param(None, id="alg-null"),
        pytest.param(DROP, id="alg-missing"),
    ],
)
def test_alg_not_in_the_profile_list(api, pem_profile, token_factory, alg):
    _, payload, signature = token_factory().split(".")
    header = {"typ": "JWT", "kid": "k1"} if alg is DROP else {"typ": "JWT", "alg": alg}
    token = ".".join([b64url(header), payload, signature])
    response = post_attest(api, pem_profile.profile_id, token)
    assert_rejected(response, 401, INVALID, "is not allowed by this profile")


def test_alg_none_without_signature(api, pem_profile):
    token = b64url({"alg": "none", "typ": "JWT"}) + "." + b64url({"sub": "x"}) + "."
    response = post_attest(api, pem_profile.profile_id, token)
    assert_rejected(response, 401, INVALID, "empty segment")


def test_hs256_signed_with_the_public_key_as_hmac_secret(api, pem_profile, signer):
    """The classic key-confusion attack: the profile's public PEM is public, so anyone can MAC."""
    now = int(time.time())
    claims = {
        "iss": pem_profile.issuer,
        "aud": AUDIENCE,
        "email": "ada@example.com",
        "jti": "jti-hs256",
        "iat": now,
        "exp": now + 300,
    }
    signing_input = b64url({"alg": "HS256", "typ": "JWT"}) + "." + b64url(claims)
    mac = hmac.new(signer.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    response = post_attest(api, pem_profile.profile_id, signing_input + "." + b64url(mac))
    assert_rejected(response, 401, INVALID, "'HS256' is not allowed")


def test_alg_from_the_token_never_widens_the_profile_list(
    api, profile_factory, token_factory, signer
):
    """An EC key is configured, but the profile allows RS256 only: an ES256 token is refused."""
    ec_pair = SigningPair.ec()
    profile = profile_factory(
        pem_keys=[signer.public_pem, ec_pair.public_pem],
        algorithms=["RS256"],
        can_jit_provision=True,
    )
    response = post_attest(api, profile.profile_id, token_factory(key=ec_pair))
    assert_rejected(response, 401, INVALID, "'ES256' is not allowed by this profile")


def test_rs256_refused_by_an_es256_only_profile(api, profile_factory, token_factory, signer):
    profile = profile_factory(
        pem_keys=[signer.public_pem], algorithms=["ES256"], can_jit_provision=True
    )
    response = post_attest(api, profile.profile_id, token_factory())
    assert_rejected(response, 401, INVALID, "'RS256' is not allowed by this profile")


@pytest.mark.parametrize(
    "headers, message",
    [
        pytest.param({"crit": ["exp"]}, "'crit' is not accepted", id="crit"),
        pytest.param({"cty": "JWT"}, "'cty' is not accepted", id="cty-nested-jwt"),
        pytest.param({"cty": "application/json"}, "'cty' is not accepted", id="cty-any"),
        pytest.param({"enc": "A256GCM"}, "'enc' is not accepted", id="enc"),
        pytest.param({"zip": "DEF"}, "'zip' is not accepted", id="zip"),
    ],
)
def test_rejected_header_parameters(api, pem_profile, signer, token_factory, headers, message):
    _, payload, _ = token_factory().split(".")
    header = {"alg": "RS256", "typ": "JWT", "kid": signer.kid, **headers}
    # Signed properly, so only the header parameter can be the reason for the refusal.
    signing_input = b64url(header) + "." + payload
    token = signing_input + "." + b64url(_rs256(signer, signing_input))
    response = post_attest(api, pem_profile.profile_id, token)
    assert_rejected(response, 401, INVALID, message)


def _rs256(pair: SigningPair, signing_input: str) -> bytes:
    return pair.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param(123, id="number"),
        pytest.param(["k1"], id="list"),
        pytest.param({"k": 1}, id="object"),
        pytest.param(True, id="bool"),
        pytest.param("", id="empty-string"),
        pytest.param("k" * 257, id="257-chars"),
    ],
)
def test_kid_that_is_not_a_short_string(api, pem_profile, signer, token_factory, kid):
    _, payload, _ = token_factory().split(".")
    signing_input = b64url({"alg": "RS256", "typ": "JWT", "kid": kid}) + "." + payload
    token = signing_input + "." + b64url(_rs256(signer, signing_input))
    response = post_attest(api, pem_profile.profile_id, token)
    assert_rejected(response, 401, INVALID, "kid must be a non-empty string")


# --- jwk / jku / x5u / x5c: ignored, never used, never fetched ---------------------------------


def test_key_naming_header_parameters_are_ignored(api, pem_profile, token_factory, issuer):
    """A token from the profile's own key still verifies; the URLs it names are never fetched."""
    attacker = SigningPair.rsa()
    token = token_factory(
        headers={
            "jku": issuer.url,
            "x5u": issuer.url,
            "jwk": attacker.public_jwk,
            "x5c": [base64.b64encode(b"not a certificate").decode()],
        }
    )
    response = post_attest(api, pem_profile.profile_id, token)
    assert response.status_code == 200, response.json()
    assert issuer.requests == 0


@pytest.mark.parametrize(
    "make_attacker, message",
    [
        pytest.param(SigningPair.rsa, "signature does not verify", id="rsa-attacker-jwk"),
        pytest.param(
            SigningPair.ec, "no configured PEM key fits algorithm ES256", id="ec-attacker-jwk"
        ),
    ],
)
def test_token_signed_by_an_embedded_jwk_is_rejected(
    api, pem_profile, token_factory, issuer, make_attacker, message
):
    attacker = make_attacker()
    token = token_factory(
        key=attacker, headers={"jwk": attacker.public_jwk, "jku": issuer.url, "x5u": issuer.url}
    )
    response = post_attest(api, pem_profile.profile_id, token)
    assert_rejected(response, 401, INVALID, message)
    assert issuer.requests == 0


# --- 3/4. key and signature -------------------------------------------------------------------


def test_signature_by_an_unknown_key(api, pem_profile, token_factory, signer):
    stranger = SigningPair.rsa()
    stranger.kid = signer.kid  # the same kid does not help: PEM profiles try their own keys
    response = post_attest(api, pem_profile.profile_id, token_factory(key=stranger))
    assert_rejected(response, 401, INVALID, "signature does not verify")


def test_tampered_payload(api, pem_profile, token_factory):
    header, payload, signature = token_factory(email="ada@example.com").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "admin@example.com"
    token = ".".join([header, b64url(claims), signature])
    response = post_attest(api, pem_profile.profile_id, token)
    assert_rejected(response, 401, INVALID, "signature does not verify")


def test_tampered_signature(api, pem_profile, token_factory):
    header, payload, signature = token_factory().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    response = post_attest(api, pem_profile.profile_id, ".".join([header, payload, flipped]))
    assert_rejected(response, 401, INVALID, "signature does not verify")


def test_rsa_1024_key_on_the_profile_is_refused(api, profile_factory, token_factory):
    """PyJWT's ``enforce_minimum_key_length``: a correctly signed token from a weak key fails."""
    weak = SigningPair.rsa(bits=1024)
    profile = profile_factory(pem_keys=[weak.public_pem], can_jit_provision=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # signing it is the test's job
        token = token_factory(key=weak)
    response = post_attest(api, profile.profile_id, token)
    assert_rejected(response, 401, INVALID, "1024 bits")


# --- 4. registered claims ---------------------------------------------------------------------


def _rel(**offsets: int):
    """Claims relative to now, computed when the test runs: ``_rel(exp=-60, iat=-360)``."""
    return lambda now: {name: now + offset for name, offset in offsets.items()}


@pytest.mark.parametrize(
    "claims, error_type, message",
    [
        pytest.param(
            {"iss": "https://evil.test/auth/v1"}, "jwt_invalid_issuer", "issuer", id="wrong-iss"
        ),
        pytest.param(
            {"iss": "https://issuer.test/auth/v1/"},
            "jwt_invalid_issuer",
            "issuer",
            id="iss-trailing-slash-is-not-exact",
        ),
        pytest.param({"aud": "someone-else"}, "jwt_invalid_audience", "audience", id="wrong-aud"),
        pytest.param(
            {"aud": ["someone-else", "other"]},
            "jwt_invalid_audience",
            "audience",
            id="aud-list-without-audience",
        ),
        pytest.param({"aud": []}, CLAIMS, "aud", id="empty-aud-list"),
        pytest.param({"exp": DROP}, CLAIMS, "exp", id="missing-exp"),
        pytest.param({"iat": DROP}, CLAIMS, "iat", id="missing-iat"),
        pytest.param({"iss": DROP}, CLAIMS, "iss", id="missing-iss"),
        pytest.param({"aud": DROP}, CLAIMS, "aud", id="missing-aud"),
        pytest.param(_rel(exp=-31, iat=-331), CLAIMS, "expired", id="expired-beyond-leeway"),
        pytest.param(_rel(nbf=120), CLAIMS, "not yet valid (nbf)", id="nbf-in-the-future"),
        pytest.param(_rel(iat=120, exp=420), CLAIMS, "not yet valid (iat)", id="iat-in-the-future"),
        pytest.param(
            lambda now: {"exp": str(now + 300)},
            CLAIMS,
            "exp must be a JSON number",
            id="exp-as-numeric-string",
        ),
        pytest.param(
            lambda now: {"iat": str(now)},
            CLAIMS,
            "iat must be a JSON number",
            id="iat-as-numeric-string",
        ),
        # PyJWT itself refuses a non-numeric exp (a DecodeError) before our own type check runs.
        pytest.param(
            {"exp": "tomorrow"}, INVALID, "(exp) must be an integer", id="exp-as-word-string"
        ),
        pytest.param(_rel(iat=-100, exp=3501), CLAIMS, "lifetime", id="lifetime-over-1-hour"),
    ],
)
def test_registered_claims(api, pem_profile, token_factory, claims, error_type, message):
    overrides = claims(int(time.time())) if callable(claims) else claims
    response = post_attest(api, pem_profile.profile_id, token_factory(**overrides))
    assert_rejected(response, 401, error_type, message)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": ["someone-else", AUDIENCE]}, id="aud-list-containing-audience"),
        pytest.param(_rel(exp=-10, iat=-310), id="expired-within-leeway"),
        pytest.param(_rel(nbf=10), id="nbf-within-leeway"),
        pytest.param(_rel(iat=10, exp=310), id="iat-within-leeway"),
        pytest.param(_rel(iat=-100, exp=3500), id="lifetime-exactly-1-hour"),
    ],
)
def test_registered_claims_accepted_at_the_limits(api, pem_profile, token_factory, claims):
    overrides = claims(int(time.time())) if callable(claims) else claims
    response = post_attest(api, pem_profile.profile_id, token_factory(**overrides))
    assert response.status_code == 200, response.json()


def test_lifetime_over_the_profile_maximum(api, profile_factory, token_factory, signer):
    profile = profile_factory(
        pem_keys=[signer.public_pem], can_jit_provision=True, max_token_lifetime_seconds=600
    )
    now = int(time.time())
    accepted = post_attest(api, profile.profile_id, token_factory(iat=now, exp=now + 600))
    assert accepted.status_code == 200, accepted.json()
    response = post_attest(api, profile.profile_id, token_factory(iat=now, exp=now + 601))
    assert_rejected(response, 401, CLAIMS, "maximum of 600 seconds")


# --- 5. mapped claims: email and token_id -----------------------------------------------------


@pytest.mark.parametrize(
    "claims, message",
    [
        pytest.param({"email": DROP}, "email must be a string", id="email-missing"),
        pytest.param({"email": None}, "email must be a string", id="email-null"),
        pytest.param({"email": 42}, "email must be a string", id="email-number"),
        pytest.param({"email": ["ada@example.com"]}, "email must be a string", id="email-list"),
        pytest.param({"email": "not-an-email"}, "not a valid email", id="email-invalid"),
        pytest.param({"email": "ada@example.com\n"}, "not a valid email", id="email-newline"),
        pytest.param({"email": "\u212aate@example.com"}, "plain ASCII", id="email-kelvin-sign"),
        pytest.param({"email": "ad\u00e0@example.com"}, "plain ASCII", id="email-non-ascii"),
        pytest.param({"email_verified": False}, "not verified", id="email-verified-false"),
        pytest.param({"email_verified": "false"}, "not verified", id="email-verified-string-false"),
        pytest.param({"jti": DROP}, "token_id must be a non-empty string", id="token-id-missing"),
        pytest.param({"jti": ""}, "token_id must be a non-empty string", id="token-id-empty"),
        pytest.param({"jti": "   "}, "token_id must be a non-empty string", id="token-id-blank"),
        pytest.param({"jti": "j" * 257}, "longer than 256", id="token-id-257-chars"),
    ],
)
def test_mapped_claims(api, pem_profile, token_factory, claims, message):
    response = post_attest(api, pem_profile.profile_id, token_factory(**claims))
    assert_rejected(response, 401, CLAIMS, message)


def test_token_id_of_256_characters_is_accepted(api, pem_profile, token_factory):
    response = post_attest(api, pem_profile.profile_id, token_factory(jti="j" * 256))
    assert response.status_code == 200, response.json()
    assert AuditEvent.objects.get().token_id == "j" * 256


# --- 6. replay --------------------------------------------------------------------------------


def test_replay_of_an_accepted_token(api, pem_profile, token_factory):
    token = token_factory()
    first = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert first.status_code == 200, first.json()
    second = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=60)
    assert_rejected(second, 401, "trusted_token_replayed", sessions=1)
    assert list(AuditEvent.objects.order_by("id").values_list("outcome", flat=True)) == [
        "success",
        "failure",
    ]


def test_replay_is_keyed_by_issuer_and_jti(api, pem_profile, token_factory):
    """A second token with the same ``jti`` from the same issuer is the same token."""
    first = post_attest(api, pem_profile.profile_id, token_factory(jti="jti-once"))
    assert first.status_code == 200, first.json()
    again = token_factory(jti="jti-once", email="bob@example.com")
    response = post_attest(api, pem_profile.profile_id, again)
    assert_rejected(response, 401, "trusted_token_replayed")


def test_replay_without_jti_is_keyed_by_the_raw_token(api, profile_factory, token_factory, signer):
    profile = profile_factory(
        pem_keys=[signer.public_pem],
        can_jit_provision=True,
        attribute_mapping={"email": "email", "token_id": "sid"},
    )
    token = token_factory(jti=DROP, sid="sid-1")
    assert post_attest(api, profile.profile_id, token).status_code == 200
    other = token_factory(jti=DROP, sid="sid-1", iat=int(time.time()) - 1)
    assert post_attest(api, profile.profile_id, other).status_code == 200
    assert_rejected(post_attest(api, profile.profile_id, token), 401, "trusted_token_replayed")


# --- profile and request ----------------------------------------------------------------------


def test_unknown_profile_id(api, pem_profile, token_factory):
    response = post_attest(api, "ttp-does-not-exist", token_factory())
    event = assert_rejected(response, 404, "trusted_token_profile_not_found")
    assert event.profile is None
    assert event.requested_profile_id == "ttp-does-not-exist"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{not json", id="invalid-json"),
        pytest.param('["profile_id", "token"]', id="json-array"),
        pytest.param('{"profile_id": "PROFILE"}', id="missing-token"),
        pytest.param('{"profile_id": "PROFILE", "token": ""}', id="empty-token"),
        pytest.param('{"profile_id": "PROFILE", "token": {"a": 1}}', id="token-object"),
        pytest.param('{"token": "a.b.c"}', id="missing-profile-id"),
    ],
)
def test_malformed_request_body(api, pem_profile, body):
    response = api.post(
        ATTEST_URL, body.replace("PROFILE", pem_profile.profile_id), content_type="application/json"
    )
    event = assert_rejected(response, 400, "bad_request")
    assert event.requested_profile_id == (pem_profile.profile_id if "PROFILE" in body else "")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-credentials"),
        pytest.param("Basic " + base64.b64encode(b"project-test:wrong").decode(), id="bad-project"),
        pytest.param("WRONG_SECRET", id="bad-secret"),
        pytest.param("Bearer abc", id="not-basic"),
    ],
)
def test_missing_or_bad_credentials(api, pem_profile, token_factory, settings, authorization):
    """Unauthenticated calls get 401 ``unauthorized_credentials`` and are no attest. Wrong
    Basic credentials are audited as a failed credential check (issue 12 item 7), never as an
    attest; the ``basic_auth_failure_ip`` limit bounds how fast anyone can add such rows."""
    if authorization == "WRONG_SECRET":
        credentials = f"{settings.TRUSTED_AUTH['PROJECT_ID']}:secret-wrong".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode()
    if authorization is None:
        api.credentials()
    else:
        api.credentials(HTTP_AUTHORIZATION=authorization)
    response = post_attest(
        api, pem_profile.profile_id, token_factory(), session_duration_minutes=60
    )
    body = response.json()
    assert response.status_code == 401, body
    assert ENVELOPE_FIELDS <= body.keys()
    assert body["error_type"] == "unauthorized_credentials"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert Session.objects.count() == 0
    assert not AuditEvent.objects.filter(action="attest").exists()
    wrong_basic = authorization is not None and authorization.startswith("Basic ")
    assert [(e.action, e.error_type) for e in AuditEvent.objects.all()] == (
        [("api_credentials", "unauthorized_credentials")] if wrong_basic else []
    )
