"""A session's life after attest: authenticate (extend, custom claims), revoke, list, idle and
absolute expiry, the DRF bearer authentication, the browser flow and ``clear-expired``.

The consumer flow is proven with the official ``stytch`` SDK over real TLS; the rest uses the
server API through DRF's test client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.signals import request_finished, request_started
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.test import APIClient
from stytch.b2b.models import sessions as b2b_models
from stytch.core.response_base import StytchError

from trusted_auth.contrib.rest_framework import BearerSessionAuthentication, VerifiedSession
from trusted_auth.errors import SessionNotFound
from trusted_auth.identities.organizations import create_organization
from trusted_auth.internal import cache
from trusted_auth.models import Session, UserIdentity
from trusted_auth.sessions.lifecycle import clear_expired_sessions
from trusted_auth.sessions.session_jwt import verify_session_jwt
from trusted_auth.sessions.sessions import session_is_live
from trusted_auth.sessions.signing_keys import current_signing_key, private_key
from trusted_auth.timeutil import rfc3339

SESSION_CLAIM = "https://stytch.com/session"
AUTHENTICATE = "/v1/sessions/authenticate"
B2B_AUTHENTICATE = "/v1/b2b/sessions/authenticate"
REVOKE = "/v1/sessions/revoke"
B2B_REVOKE = "/v1/b2b/sessions/revoke"
WHOAMI = "/example/whoami"


@pytest.fixture(autouse=True)
def _cold_bearer_key_cache():
    """The key cache is process memory: start and end every test with it empty."""
    cache.clear_all()
    yield
    cache.clear_all()


# --- helpers -----------------------------------------------------------------------------------


def start(api, profile, token_factory, **fields) -> dict:
    """A consumer session (60 minutes unless told) through ``POST /v1/sessions/attest``."""
    fields.setdefault("session_duration_minutes", 60)
    response = api.post(
        "/v1/sessions/attest",
        {"profile_id": profile.profile_id, "token": token_factory(), **fields},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def start_member(api, profile, token_factory, organization, **fields) -> dict:
    """A member session through ``POST /v1/b2b/sessions/attest`` (JIT-provisions the member)."""
    response = api.post(
        "/v1/b2b/sessions/attest",
        {
            "profile_id": profile.profile_id,
            "token": token_factory(**fields.pop("claims", {})),
            "organization_id": organization.organization_id,
            **fields,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def post(api, url, **fields):
    return api.post(url, fields, format="json")


def assert_error(response, status: int, error_type: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["status_code"] == status and body["request_id"] and body["error_message"]
    if error_type is not None:
        assert body["error_type"] == error_type, body
    return body


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def resign(token: str, key=None, kid: str | None = None, **changes) -> str:
    """``token``'s claims with ``changes``, signed with our current key (or ``key``/``kid``)."""
    signing_key = current_signing_key()
    claims = {**claims_of(token), **changes}
    return jwt.encode(
        claims,
        key or private_key(signing_key),
        algorithm="RS256",
        headers={"kid": kid or signing_key.kid},
    )


def expired_copy(token: str) -> str:
    """The same session JWT, validly signed by us, issued 20 minutes ago and expired 15 ago."""
    now = int(time.time())
    return resign(token, iat=now - 1200, nbf=now - 1200, exp=now - 900)


def b64url(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bearer(client, credential: str):
    return client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {credential}")


# --- the official SDK over TLS -------------------------------------------------------------------


def test_sdk_authenticate_list_revoke(sdk, pem_profile, token_factory):
    attested = sdk.sessions.attest(
        profile_id=pem_profile.profile_id,
        token=token_factory(email="grace@example.com"),
        session_duration_minutes=60,
    )
    session_id = attested.session.session_id
    user_id = attested.user_id

    by_token = sdk.sessions.authenticate(session_token=attested.session_token)
    assert by_token.status_code == 200
    assert by_token.session.session_id == session_id and by_token.session.user_id == user_id
    assert by_token.user.user_id == user_id
    assert by_token.session_token == attested.session_token
    # A freshly signed JWT (byte-identical to the attest one when issued in the same second).
    assert claims_of(by_token.session_jwt)[SESSION_CLAIM]["id"] == session_id

    by_jwt = sdk.sessions.authenticate(session_jwt=attested.session_jwt)
    assert by_jwt.session.session_id == session_id
    assert by_jwt.user.emails[0].email == "grace@example.com"
    # The fresh JWT verifies with the SDK against our JWKS, over TLS.
    local = sdk.sessions.authenticate_jwt_local(session_jwt=by_jwt.session_jwt)
    assert local is not None and local.session_id == session_id

    listed = sdk.sessions.get(user_id=user_id)
    assert [s.session_id for s in listed.sessions] == [session_id]
    assert listed.sessions[0].user_id == user_id

    revoked = sdk.sessions.revoke(session_id=session_id)
    assert revoked.status_code == 200
    assert Session.objects.get(session_id=session_id).revoked_at is not None

    for credentials in (
        {"session_token": attested.session_token},
        {"session_jwt": by_jwt.session_jwt},
    ):
        with pytest.raises(StytchError) as caught:
            sdk.sessions.authenticate(**credentials)
        assert (caught.value.details.status_code, caught.value.details.error_type) == (
            404,
            "session_not_found",
        )
    assert sdk.sessions.get(user_id=user_id).sessions == []
    with pytest.raises(StytchError) as caught:  # revoking twice: nothing live to revoke
        sdk.sessions.revoke(session_id=session_id)
    assert caught.value.details.error_type == "session_not_found"


# --- authenticate: request rules ----------------------------------------------------------------


def test_authenticate_takes_exactly_one_credential(api, pem_profile, token_factory):
    body = start(api, pem_profile, token_factory)

    assert_error(
        post(
            api, AUTHENTICATE, session_token=body["session_token"], session_jwt=body["session_jwt"]
        ),
        400,
        "too_many_session_arguments",
    )
    assert_error(post(api, AUTHENTICATE), 400)
    assert_error(
        post(api, AUTHENTICATE, session_token="not-a-session-token"), 404, "session_not_found"
    )
    # Garbage or tampered JWTs are a plain 404, never a 500.
    forged = resign(body["session_jwt"], key=rsa.generate_private_key(65537, 2048))
    for bad in ("garbage", "a.b.c", forged, body["session_jwt"][:-4] + "AAAA"):
        assert_error(post(api, AUTHENTICATE, session_jwt=bad), 404, "session_not_found")


def test_authenticate_touches_extends_and_returns_a_fresh_jwt(api, pem_profile, token_factory):
    body = start(api, pem_profile, token_factory, session_duration_minutes=10)
    row = Session.objects.get()
    earlier = timezone.now() - timedelta(minutes=3)
    Session.objects.filter(pk=row.pk).update(last_accessed_at=earlier)

    response = post(
        api, AUTHENTICATE, session_token=body["session_token"], session_duration_minutes=120
    )
    result = response.json()
    assert response.status_code == 200, result
    assert result["session"]["session_id"] == row.session_id
    assert result["user"]["user_id"] == body["user_id"]
    row.refresh_from_db()
    assert row.last_accessed_at > earlier + timedelta(minutes=2)
    assert 119 * 60 < (row.expires_at - timezone.now()).total_seconds() <= 120 * 60
    claims = claims_of(result["session_jwt"])
    assert claims["exp"] - claims["iat"] == 300  # 5 minutes, not the session's 2 hours
    assert claims[SESSION_CLAIM]["id"] == row.session_id
    assert claims[SESSION_CLAIM]["expires_at"] == result["session"]["expires_at"]

    # Without session_duration_minutes the expiry stays put.
    expires = row.expires_at
    assert post(api, AUTHENTICATE, session_jwt=result["session_jwt"]).status_code == 200
    row.refresh_from_db()
    assert row.expires_at == expires
    assert_error(
        post(api, AUTHENTICATE, session_token=body["session_token"], session_duration_minutes=4),
        400,
        "invalid_session_duration_minutes",
    )


def test_authenticate_updates_and_deletes_custom_claims(api, pem_profile, token_factory):
    body = start(
        api,
        pem_profile,
        token_factory,
        session_custom_claims={"plan": "pro", "tier": 1, "keep": True},
    )

    response = post(
        api,
        AUTHENTICATE,
        session_token=body["session_token"],
        session_custom_claims={"plan": "team", "tier": None, "seats": 5},
    )
    result = response.json()
    assert response.status_code == 200, result
    expected = {"plan": "team", "keep": True, "seats": 5}
    assert result["session"]["custom_claims"] == expected
    assert Session.objects.get().custom_claims == expected
    claims = claims_of(result["session_jwt"])
    assert {k: claims.get(k) for k in ("plan", "keep", "seats")} == expected
    assert "tier" not in claims

    token = body["session_token"]
    assert_error(
        post(api, AUTHENTICATE, session_token=token, session_custom_claims={"sub": "x"}),
        400,
        "reserved_claims_in_custom_claims",
    )
    assert_error(
        post(
            api,
            AUTHENTICATE,
            session_token=token,
            session_custom_claims={"https://stytch.com/session": {}},
        ),
        400,
        "reserved_claims_in_custom_claims",
    )
    assert_error(
        post(api, AUTHENTICATE, session_token=token, session_custom_claims={"big": "x" * 5000}),
        400,
        "custom_claims_too_large",
    )
    assert Session.objects.get().custom_claims == expected  # refusals changed nothing


# --- expiry -------------------------------------------------------------------------------------


def test_an_expired_session_jwt_is_accepted_while_the_session_lives(
    api, pem_profile, token_factory
):
    body = start(api, pem_profile, token_factory)
    stale = expired_copy(body["session_jwt"])
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(stale, options={"verify_signature": False, "verify_exp": True})

    response = post(api, AUTHENTICATE, session_jwt=stale)
    result = response.json()
    assert response.status_code == 200, result
    fresh = claims_of(result["session_jwt"])
    assert fresh["exp"] > time.time() + 240
    assert fresh[SESSION_CLAIM]["id"] == body["session"]["session_id"]

    # ...but not once the session itself has ended.
    Session.objects.update(revoked_at=timezone.now())
    assert_error(post(api, AUTHENTICATE, session_jwt=stale), 404, "session_not_found")


def test_a_session_past_its_absolute_expiry_is_refused(api, pem_profile, token_factory):
    body = start(api, pem_profile, token_factory)
    Session.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(
        post(api, AUTHENTICATE, session_token=body["session_token"]), 404, "session_not_found"
    )
    assert_error(post(api, AUTHENTICATE, session_jwt=body["session_jwt"]), 404, "session_not_found")
    assert api.get("/v1/sessions", {"user_id": body["user_id"]}).json()["sessions"] == []


def test_idle_timeout_ends_the_session(api, pem_profile, token_factory, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": 60}
    body = start(api, pem_profile, token_factory)
    token = body["session_token"]

    # Used 30 s ago: still inside the idle window.
    Session.objects.update(last_accessed_at=timezone.now() - timedelta(seconds=30))
    assert post(api, AUTHENTICATE, session_token=token).status_code == 200

    Session.objects.update(last_accessed_at=timezone.now() - timedelta(minutes=2))
    assert_error(post(api, AUTHENTICATE, session_token=token), 404, "session_not_found")
    row = Session.objects.get()
    assert row.revoked_at is not None  # ended for good, not just refused this time
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": None}
    assert_error(post(api, AUTHENTICATE, session_jwt=body["session_jwt"]), 404, "session_not_found")


# --- revoke and list ---------------------------------------------------------------------------


@pytest.mark.parametrize("argument", ["session_id", "session_token", "session_jwt"])
def test_revoke_by_each_argument(api, pem_profile, token_factory, argument):
    body = start(api, pem_profile, token_factory)
    other = start(api, pem_profile, token_factory)
    value = body["session"]["session_id"] if argument == "session_id" else body[argument]

    assert post(api, REVOKE, **{argument: value}).status_code == 200

    assert_error(
        post(api, AUTHENTICATE, session_token=body["session_token"]), 404, "session_not_found"
    )
    assert post(api, AUTHENTICATE, session_token=other["session_token"]).status_code == 200
    listed = api.get("/v1/sessions", {"user_id": body["user_id"]}).json()["sessions"]
    assert [s["session_id"] for s in listed] == [other["session"]["session_id"]]


def test_revoke_needs_exactly_one_argument(api, pem_profile, token_factory):
    body = start(api, pem_profile, token_factory)
    assert_error(post(api, REVOKE), 400)
    assert_error(
        post(
            api,
            REVOKE,
            session_id=body["session"]["session_id"],
            session_token=body["session_token"],
        ),
        400,
    )
    assert_error(post(api, REVOKE, session_jwt="garbage"), 404, "session_not_found")
    assert Session.objects.get().revoked_at is None


# --- B2B ----------------------------------------------------------------------------------------


@pytest.fixture
def organization(db):
    return create_organization(name="Acme Corp")


def test_b2b_authenticate_list_and_revoke_by_member(api, pem_profile, token_factory, organization):
    first = start_member(api, pem_profile, token_factory, organization, session_duration_minutes=60)
    second = start_member(api, pem_profile, token_factory, organization)
    member_id = first["member_id"]
    assert second["member_id"] == member_id
    other = start_member(
        api, pem_profile, token_factory, organization, claims={"email": "bob@example.com"}
    )

    response = post(
        api,
        B2B_AUTHENTICATE,
        session_jwt=first["session_jwt"],
        session_custom_claims={"team": "blue"},
    )
    result = response.json()
    assert response.status_code == 200, result
    assert (
        result["member_session"]["member_session_id"]
        == first["member_session"]["member_session_id"]
    )
    assert result["member"]["member_id"] == member_id
    assert result["organization"]["organization_id"] == organization.organization_id
    # The official SDK's B2B models parse our answers (what the SDK would do over the wire).
    parsed = b2b_models.AuthenticateResponse.from_json(200, result)
    assert parsed.member_session.member_session_id == result["member_session"]["member_session_id"]
    assert parsed.member_session.custom_claims == {"team": "blue"}
    claims = claims_of(result["session_jwt"])
    assert claims["sub"] == member_id and claims["team"] == "blue"
    assert (
        claims["https://stytch.com/organization"]["organization_id"] == organization.organization_id
    )

    listed_body = api.get(
        "/v1/b2b/sessions",
        {"organization_id": organization.organization_id, "member_id": member_id},
    ).json()
    assert len(b2b_models.GetResponse.from_json(200, listed_body).member_sessions) == 2
    listed = listed_body["member_sessions"]
    assert sorted(s["member_session_id"] for s in listed) == sorted(
        [
            first["member_session"]["member_session_id"],
            second["member_session"]["member_session_id"],
        ]
    )
    assert_error(api.get("/v1/b2b/sessions", {"member_id": member_id}), 400)

    revoked = post(api, B2B_REVOKE, member_id=member_id)
    assert revoked.status_code == 200, revoked.json()
    b2b_models.RevokeResponse.from_json(200, revoked.json())
    assert (
        Session.objects.filter(member__member_id=member_id, revoked_at__isnull=False).count() == 2
    )

    for body in (first, second):
        assert_error(
            post(api, B2B_AUTHENTICATE, session_token=body["session_token"]),
            404,
            "session_not_found",
        )
    assert post(api, B2B_AUTHENTICATE, session_token=other["session_token"]).status_code == 200
    assert (
        api.get(
            "/v1/b2b/sessions",
            {"organization_id": organization.organization_id, "member_id": member_id},
        ).json()["member_sessions"]
        == []
    )
    # By member_session_id too.
    assert (
        post(
            api, B2B_REVOKE, member_session_id=other["member_session"]["member_session_id"]
        ).status_code
        == 200
    )
    assert_error(
        post(api, B2B_AUTHENTICATE, session_token=other["session_token"]), 404, "session_not_found"
    )


def test_consumer_and_member_sessions_never_cross(api, pem_profile, token_factory, organization):
    consumer = start(api, pem_profile, token_factory)
    member = start_member(api, pem_profile, token_factory, organization)

    for credential in ("session_token", "session_jwt"):
        assert_error(
            post(api, AUTHENTICATE, **{credential: member[credential]}), 404, "session_not_found"
        )
        assert_error(
            post(api, B2B_AUTHENTICATE, **{credential: consumer[credential]}),
            404,
            "session_not_found",
        )
    assert_error(
        post(api, REVOKE, session_id=member["member_session"]["member_session_id"]),
        404,
        "session_not_found",
    )
    assert_error(post(api, REVOKE, session_token=member["session_token"]), 404, "session_not_found")
    assert_error(
        post(api, B2B_REVOKE, member_session_id=consumer["session"]["session_id"]),
        404,
        "session_not_found",
    )
    assert_error(
        post(api, B2B_REVOKE, session_jwt=consumer["session_jwt"]), 404, "session_not_found"
    )
    assert not Session.objects.filter(revoked_at__isnull=False).exists()
    # Each still works on its own endpoint.
    assert post(api, AUTHENTICATE, session_token=consumer["session_token"]).status_code == 200
    assert post(api, B2B_AUTHENTICATE, session_token=member["session_token"]).status_code == 200


# --- DRF bearer authentication ------------------------------------------------------------------


def test_whoami_with_jwt_and_revocation_check(api, pem_profile, token_factory, settings):
    body = start(api, pem_profile, token_factory, session_custom_claims={"plan": "pro"})
    client = APIClient()
    identity = UserIdentity.objects.get(user_id=body["user_id"])

    response = bearer(client, body["session_jwt"])
    assert response.status_code == 200, response.content
    assert response.json() == {
        "username": identity.django_user.get_username(),
        "email": "ada@example.com",
        "user_id": body["user_id"],
        "session_id": body["session"]["session_id"],
    }
    assert bearer(client, body["session_token"]).json()["user_id"] == body["user_id"]

    assert post(api, REVOKE, session_id=body["session"]["session_id"]).status_code == 200

    # Default (BEARER_CHECK_REVOCATION off): the JWT is verified locally only, so a revoked
    # session's JWT keeps working until its exp (at most SESSION_JWT_LIFETIME_SECONDS, 5 min).
    assert bearer(client, body["session_jwt"]).status_code == 200
    # ...and not after its exp: the bearer check, unlike /authenticate, never accepts expired.
    assert bearer(client, expired_copy(body["session_jwt"])).status_code == 401
    # The opaque session token is always looked up: refused at once.
    assert bearer(client, body["session_token"]).status_code == 401

    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "BEARER_CHECK_REVOCATION": True}
    response = bearer(client, body["session_jwt"])
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_revocation_check_accepts_live_sessions(api, pem_profile, token_factory, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "BEARER_CHECK_REVOCATION": True}
    body = start(api, pem_profile, token_factory)
    response = bearer(APIClient(), body["session_jwt"])
    assert response.status_code == 200, response.content
    assert response.json()["session_id"] == body["session"]["session_id"]
    Session.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(APIClient(), body["session_jwt"]).status_code == 401


def test_bad_bearer_credentials_are_401_never_500(api, pem_profile, token_factory):
    body = start(api, pem_profile, token_factory)
    session_jwt = body["session_jwt"]
    signing_key = current_signing_key()
    stranger = rsa.generate_private_key(65537, 2048)
    header, payload, signature = session_jwt.split(".")
    tampered_payload = b64url(json.dumps({**claims_of(session_jwt), "sub": "user-someone-else"}))
    unsigned = jwt.encode(claims_of(session_jwt), None, algorithm="none")
    # Algorithm confusion: HS256 keyed with our public JWK (PyJWT refuses to sign that, so
    # build it by hand).
    hs_header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}))
    hs_signed = f"{hs_header}.{payload}"
    hs256 = (
        hs_signed
        + "."
        + b64url(
            hmac.new(
                json.dumps(signing_key.public_jwk).encode(), hs_signed.encode(), hashlib.sha256
            ).digest()
        )
    )

    bad = {
        "garbage": "garbage",
        "three garbage segments": "a.b.c",
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-6]}AAAAAA",
        "stranger key, our kid": resign(session_jwt, key=stranger),
        "stranger key, unknown kid": resign(session_jwt, key=stranger, kid="no-such-kid"),
        "our key, unknown kid": resign(session_jwt, kid="no-such-kid"),
        "wrong audience": resign(session_jwt, aud=["project-other"]),
        "wrong issuer": resign(session_jwt, iss="https://elsewhere.example"),
        "no session claim": resign(session_jwt, **{SESSION_CLAIM: None}),
        "alg none": unsigned,
        "hs256": hs256,
        "unknown session token": "x" * 43,
        "non-ascii": "caf\u00e9",
    }
    client = APIClient()
    for name, credential in bad.items():
        response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {credential}")
        assert response.status_code == 401, (name, response.content)
    for header_value in ("Bearer", f"Bearer {session_jwt} extra", "Basic Zm9vOmJhcg=="):
        response = client.get(WHOAMI, HTTP_AUTHORIZATION=header_value)
        assert response.status_code in (401, 403), (header_value, response.content)
    assert client.get(WHOAMI).status_code in (401, 403)
    assert bearer(client, session_jwt).status_code == 200  # the real one still works


@pytest.mark.django_db(transaction=True)
def test_bearer_jwt_costs_one_generation_read_per_request(
    api, pem_profile, token_factory, django_assert_num_queries
):
    body = start(api, pem_profile, token_factory)
    factory = RequestFactory()

    def request():
        return factory.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {body['session_jwt']}")

    BearerSessionAuthentication().authenticate(request())  # warms the key cache
    request_started.send(sender=None)
    try:
        # The one query: the generation counters, which tell whether the cached keys still hold.
        with django_assert_num_queries(1):
            user, auth = BearerSessionAuthentication().authenticate(request())
        with django_assert_num_queries(0):  # memoised for the rest of the request
            user, auth = BearerSessionAuthentication().authenticate(request())
            assert isinstance(auth, VerifiedSession)
            assert auth.session_id == body["session"]["session_id"]
            assert auth.subject == body["user_id"]
            assert auth.claims[SESSION_CLAIM]["id"] == auth.session_id
            assert user.is_authenticated  # answered without loading the user
    finally:
        request_finished.send(sender=None)
    with django_assert_num_queries(1):
        assert user.email == "ada@example.com"  # the user loads lazily, on first use

    # The opaque token, and the revocation check, do read the database.
    with CaptureQueriesContext(connection) as queries:
        BearerSessionAuthentication().authenticate(
            factory.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {body['session_token']}")
        )
    assert len(queries) >= 1


@pytest.mark.django_db(transaction=True)  # the keyring is kept only outside a transaction
def test_a_repeated_session_jwt_is_verified_once_while_its_key_stands(
    api, pem_profile, token_factory, monkeypatch
):
    """A client sends the same session JWT with every request until it expires: ``jwt.decode``
    runs once per key generation, and every later use still checks its expiry and its key."""
    body = start(api, pem_profile, token_factory)
    token = body["session_jwt"]
    checks = []
    real_decode = jwt.decode

    def counting_decode(encoded, *args, **kwargs):
        checks.append(encoded)
        return real_decode(encoded, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    first = verify_session_jwt(token)
    first[SESSION_CLAIM]["id"] = "session-tampered-by-the-caller"
    second = verify_session_jwt(token)
    assert checks == [token]  # one full check
    assert second == claims_of(token)  # a fresh copy: what a caller did to the first is gone

    # Past its exp: refused, as jwt.decode would, though the signature was checked before.
    claims = claims_of(token)
    monkeypatch.setattr(time, "time", lambda: claims["exp"] + 1)
    with pytest.raises(SessionNotFound):
        verify_session_jwt(token)
    assert verify_session_jwt(token, allow_expired=True)["sub"] == claims["sub"]
    monkeypatch.undo()

    # A retired key: the keyring reloads and the token is refused, not served from memory.
    call_command("trusted_auth", "keys", "rotate", stdout=io.StringIO())
    call_command("trusted_auth", "keys", "rotate", "--promote", stdout=io.StringIO())
    assert verify_session_jwt(token)["sub"] == claims["sub"]
    call_command("trusted_auth", "keys", "retire", "--force", stdout=io.StringIO())
    with pytest.raises(SessionNotFound):
        verify_session_jwt(token)


def test_bearer_member_session(api, pem_profile, token_factory, organization):
    member = start_member(api, pem_profile, token_factory, organization)
    request = RequestFactory().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {member['session_jwt']}")
    user, auth = BearerSessionAuthentication().authenticate(request)
    assert auth.organization_id == organization.organization_id
    assert auth.subject == member["member_id"]
    assert user.member_id == member["member_id"] and user.email == "ada@example.com"
    with pytest.raises(exceptions.AuthenticationFailed):
        BearerSessionAuthentication().authenticate(
            RequestFactory().get(WHOAMI, HTTP_AUTHORIZATION="Bearer not.a.jwt")
        )


# --- the browser flow ---------------------------------------------------------------------------


def browser() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    assert client.get("/example/signin").status_code == 200
    return client, client.cookies["csrftoken"].value


def test_browser_exchange_logs_in_and_logout_revokes(pem_profile, token_factory):
    client, csrf = browser()
    assert client.get("/example/me").status_code == 302  # not signed in yet

    response = client.post(
        "/browser/exchange",
        {"profile_id": pem_profile.profile_id, "token": token_factory(email="grace@example.com")},
        HTTP_X_CSRFTOKEN=csrf,
    )
    body = response.json()
    assert response.status_code == 200, body
    row = Session.objects.get(session_id=body["session_id"])
    assert session_is_live(row) and row.user.email == "grace@example.com"
    assert body["user_id"] == row.user.trusted_auth_identity.user_id

    response = client.get("/example/me")
    assert response.status_code == 200
    assert response.json()["email"] == "grace@example.com"

    csrf = client.cookies["csrftoken"].value  # login rotates the CSRF token
    assert client.post("/browser/logout").status_code == 403  # logout is CSRF-protected too
    row.refresh_from_db()
    assert row.revoked_at is None
    assert client.post("/browser/logout", HTTP_X_CSRFTOKEN=csrf).status_code == 200
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert client.get("/example/me").status_code == 302


def test_browser_exchange_accepts_json(pem_profile, token_factory):
    client, csrf = browser()
    response = client.post(
        "/browser/exchange",
        {"profile_id": pem_profile.profile_id, "token": token_factory()},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 200, response.content
    assert client.get("/example/me").json()["email"] == "ada@example.com"


def test_browser_exchange_refuses_without_csrf_or_cross_site(pem_profile, token_factory):
    client, csrf = browser()
    data = {"profile_id": pem_profile.profile_id, "token": token_factory()}

    assert client.post("/browser/exchange", data).status_code == 403
    assert client.post("/browser/exchange", data, HTTP_X_CSRFTOKEN="x" * 32).status_code == 403
    response = client.post(
        "/browser/exchange", data, HTTP_X_CSRFTOKEN=csrf, HTTP_SEC_FETCH_SITE="cross-site"
    )
    assert response.status_code == 403
    assert response.json()["error_type"] == "cross_site_request"
    assert not Session.objects.exists()
    assert client.get("/example/me").status_code == 302
    assert client.get("/browser/exchange").status_code == 405

    # A bad token is the API's refusal, and nobody is logged in.
    response = client.post("/browser/exchange", {**data, "token": "garbage"}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 401, response.content
    assert response.json()["error_type"] == "invalid_trusted_auth_token"
    assert client.get("/example/me").status_code == 302


# --- clear-expired ------------------------------------------------------------------------------


def _seven_sessions(api, pem_profile, token_factory) -> tuple[set[str], set[str]]:
    ids = [start(api, pem_profile, token_factory)["session"]["session_id"] for _ in range(7)]
    expired, live = ids[:5], ids[5:]
    Session.objects.filter(session_id__in=expired).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    # A revoked session that has not expired yet is kept (the admin still shows it).
    Session.objects.filter(session_id=live[0]).update(revoked_at=timezone.now())
    return set(expired), set(live)


def test_clear_expired_sessions_in_batches(api, pem_profile, token_factory):
    expired, live = _seven_sessions(api, pem_profile, token_factory)
    table = Session._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        assert clear_expired_sessions(batch_size=2) == 5

    deletes = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("DELETE") and table in q["sql"].split("WHERE")[0]
    ]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert set(Session.objects.values_list("session_id", flat=True)) == live
    assert clear_expired_sessions() == 0


def test_clear_expired_command(api, pem_profile, token_factory):
    expired, live = _seven_sessions(api, pem_profile, token_factory)
    stdout = io.StringIO()

    call_command("trusted_auth", "sessions", "clear-expired", "--batch-size", "2", stdout=stdout)

    assert json.loads(stdout.getvalue()) == {"deleted": 5, "consumed_tokens_deleted": 0}
    assert set(Session.objects.values_list("session_id", flat=True)) == live


def test_clear_expired_command_refuses_a_bad_batch_size(db):
    with pytest.raises(CommandError, match="batch size must be at least 1"):
        call_command(
            "trusted_auth", "sessions", "clear-expired", "--batch-size", "0", stdout=io.StringIO()
        )


@pytest.mark.django_db(transaction=True)
def test_one_authenticate_of_a_session_in_use_reads_its_rows_and_writes_none(
    api, pem_profile, token_factory
):
    """With the worker's caches warm (API secret, signing key): the generation counters, then
    the session, its user and its identity (``sessions.session_with_owner``), no transaction
    and no write; ``last_accessed_at`` was written moments ago. A regression shows here first."""
    body = start(api, pem_profile, token_factory)
    call = {"session_token": body["session_token"]}
    assert api.post(AUTHENTICATE, call, format="json").status_code == 200  # warms the caches
    with CaptureQueriesContext(connection) as queries:
        response = api.post(AUTHENTICATE, call, format="json")
    assert response.status_code == 200, response.json()
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 4, "\n".join(statements)
    assert "trusted_auth_generation" in statements[0]  # the counters
    tables = ["trusted_auth_session", "auth_user", "trusted_auth_useridentity"]
    for statement, table in zip(statements[1:], tables, strict=True):
        assert statement.startswith("SELECT") and table in statement


@pytest.mark.django_db(transaction=True)
def test_authenticate_touches_last_accessed_at_once_per_touch_interval(
    api, pem_profile, token_factory, settings
):
    """``last_accessed_at`` is written when it is older than ``SESSION_TOUCH_SECONDS`` (or a
    quarter of the idle timeout): one UPDATE, in autocommit, no locked read."""
    body = start(api, pem_profile, token_factory)
    call = {"session_token": body["session_token"]}
    assert api.post(AUTHENTICATE, call, format="json").status_code == 200  # warms the caches
    earlier = timezone.now() - timedelta(seconds=61)
    Session.objects.update(last_accessed_at=earlier)
    with CaptureQueriesContext(connection) as queries:
        response = api.post(AUTHENTICATE, call, format="json")
    assert response.status_code == 200, response.json()
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 5, "\n".join(statements)  # the counters, three rows, the write
    assert statements[4].startswith("UPDATE") and "trusted_auth_session" in statements[4]
    row = Session.objects.get()
    assert row.last_accessed_at > earlier + timedelta(seconds=60)
    assert response.json()["session"]["last_accessed_at"] == rfc3339(row.last_accessed_at)

    # Used 40 s ago with a 60 s idle timeout: past a quarter of it, so it is written.
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": 60}
    earlier = timezone.now() - timedelta(seconds=40)
    Session.objects.update(last_accessed_at=earlier)
    assert api.post(AUTHENTICATE, call, format="json").status_code == 200
    assert Session.objects.get().last_accessed_at > earlier + timedelta(seconds=39)

    # SESSION_TOUCH_SECONDS = 0: every authenticate writes it.
    settings.TRUSTED_AUTH = {
        **settings.TRUSTED_AUTH,
        "SESSION_IDLE_TIMEOUT_SECONDS": None,
        "SESSION_TOUCH_SECONDS": 0,
    }
    before = Session.objects.get().last_accessed_at
    assert api.post(AUTHENTICATE, call, format="json").status_code == 200
    assert Session.objects.get().last_accessed_at > before


def test_authenticate_reuses_its_recent_session_jwt_while_nothing_in_it_changes(
    api, pem_profile, token_factory, settings, monkeypatch
):
    """The RSA signature is authenticate's costliest step: within SESSION_JWT_REUSE_SECONDS a
    worker returns the JWT it signed for the same session, unless a claim would differ (a
    touch, an extension, new custom claims, another signing key)."""
    body = start(api, pem_profile, token_factory)
    call = {"session_token": body["session_token"]}
    signatures = []
    encode = jwt.encode

    def spy(*args, **kwargs):
        signatures.append(1)
        return encode(*args, **kwargs)

    monkeypatch.setattr("trusted_auth.sessions.session_jwt.jwt.encode", spy)
    first = api.post(AUTHENTICATE, call, format="json").json()["session_jwt"]
    again = api.post(AUTHENTICATE, call, format="json").json()["session_jwt"]
    assert again == first and len(signatures) == 1
    assert claims_of(again)["exp"] - claims_of(again)["iat"] == 300

    # A claim that changes (custom claims here) is a new signature, and so is each later call.
    claimed = api.post(
        AUTHENTICATE, {**call, "session_custom_claims": {"tier": "gold"}}, format="json"
    ).json()["session_jwt"]
    assert claims_of(claimed)["tier"] == "gold" and len(signatures) == 2
    assert api.post(AUTHENTICATE, call, format="json").json()["session_jwt"] == claimed
    assert len(signatures) == 2

    # Revoked: refused before any JWT is looked at.
    Session.objects.update(revoked_at=timezone.now())
    assert_error(post(api, AUTHENTICATE, **call), 404, "session_not_found")

    # SESSION_JWT_REUSE_SECONDS = 0: every authenticate signs.
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_JWT_REUSE_SECONDS": 0}
    body = start(api, pem_profile, token_factory)
    signatures.clear()
    for _ in range(2):
        api.post(AUTHENTICATE, {"session_token": body["session_token"]}, format="json")
    assert len(signatures) == 2
