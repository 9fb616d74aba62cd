"""``POST /v1/sessions/attest`` when it works: sessions, the session JWT, request rules, users.

Refusals of the external token itself live in ``test_attest_rejections.py``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from trusted_auth import signals
from trusted_auth.errors import TrustedAuthError
from trusted_auth.models import AuditEvent, Session, UserIdentity

from .issuers import ISSUER, SigningPair
from .test_attest_rejections import assert_rejected, post_attest

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SESSION_CLAIM = "https://stytch.com/session"
EXTERNAL_ID_MAPPING = {"email": "email", "token_id": "jti", "external_user_id": "sub"}


@pytest.fixture
def verify_session_jwt(settings):
    """Verify a session JWT the way a resource server would: with our published JWKS only."""
    project_id = settings.TRUSTED_AUTH["PROJECT_ID"]

    def verify(token: str) -> tuple[dict, dict]:
        response = APIClient().get(f"/v1/sessions/jwks/{project_id}")  # public: no credentials
        assert response.status_code == 200, response.json()
        header = jwt.get_unverified_header(token)
        jwk = next(k for k in response.json()["keys"] if k["kid"] == header["kid"])
        claims = jwt.decode(
            token,
            jwt.PyJWK(jwk, algorithm="RS256"),
            algorithms=["RS256"],
            audience=project_id,
            issuer=settings.TRUSTED_AUTH["ISSUER"],
            options={"require": ["exp", "iat", "nbf", "sub"]},
        )
        return header, claims

    return verify


def start(api, profile, token_factory, **fields):
    """Attest a fresh token with a 60-minute session; returns the response body."""
    fields.setdefault("session_duration_minutes", 60)
    response = post_attest(api, profile.profile_id, token_factory(), **fields)
    assert response.status_code == 200, response.json()
    return response.json()


# --- a new session ----------------------------------------------------------------------------


def test_new_session(api, pem_profile, token_factory, verify_session_jwt, settings):
    token = token_factory(jti="jti-new-session")
    before = timezone.now()
    response = post_attest(
        api,
        pem_profile.profile_id,
        token,
        session_duration_minutes=60,
        session_custom_claims={"plan": "pro", "tenant": {"id": 7}},
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["status_code"] == 200 and body["request_id"].startswith("request-id-")
    assert body["user_id"].startswith("user-")
    assert body["user"]["user_id"] == body["user_id"]
    assert body["user"]["emails"][0]["email"] == "ada@example.com"
    assert body["user_device"] is None
    session = body["session"]
    assert session["session_id"].startswith("session-")
    assert session["user_id"] == body["user_id"]
    assert session["custom_claims"] == {"plan": "pro", "tenant": {"id": 7}}
    for name in ("started_at", "last_accessed_at", "expires_at"):
        assert RFC3339_Z.match(session[name]), session[name]
    [factor] = session["authentication_factors"]
    assert factor["type"] == "trusted_auth_token"
    assert factor["delivery_method"] == "trusted_token_exchange"
    assert factor["trusted_auth_token_factor"] == {"token_id": "jti-new-session"}
    assert all(
        RFC3339_Z.match(factor[k]) for k in ("created_at", "updated_at", "last_authenticated_at")
    )

    session_token = body["session_token"]
    assert len(session_token) >= 43  # 256 bits, urlsafe base64
    row = Session.objects.get()
    assert row.session_id == session["session_id"]
    assert row.token_digest == hashlib.sha256(session_token.encode()).hexdigest()
    assert row.token_digest != session_token
    assert timedelta(minutes=59) < row.expires_at - before <= timedelta(minutes=60, seconds=5)

    header, claims = verify_session_jwt(body["session_jwt"])
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == settings.TRUSTED_AUTH["ISSUER"]
    assert claims["aud"] == [settings.TRUSTED_AUTH["PROJECT_ID"]]
    assert claims["sub"] == body["user_id"]
    assert claims["nbf"] <= claims["iat"] < claims["exp"] <= claims["iat"] + 300
    assert claims["plan"] == "pro" and claims["tenant"] == {"id": 7}
    stytch_session = claims[SESSION_CLAIM]
    assert stytch_session["id"] == session["session_id"]
    assert stytch_session["expires_at"] == session["expires_at"]
    assert stytch_session["authentication_factors"] == session["authentication_factors"]
    assert {"started_at", "last_accessed_at", "attributes", "roles"} <= stytch_session.keys()


def test_session_jwt_expires_with_a_short_session(
    api, pem_profile, token_factory, verify_session_jwt
):
    body = start(api, pem_profile, token_factory, session_duration_minutes=5)
    _, claims = verify_session_jwt(body["session_jwt"])
    expires_at = Session.objects.get().expires_at.timestamp()
    assert claims["exp"] == min(claims["iat"] + 300, int(expires_at))


def test_without_duration_or_session_no_session_is_started(api, pem_profile, token_factory):
    response = post_attest(api, pem_profile.profile_id, token_factory())
    body = response.json()
    assert response.status_code == 200, body
    assert body["user_id"] == UserIdentity.objects.get().user_id
    assert body["session"] is None
    assert body["session_token"] == "" and body["session_jwt"] == ""
    assert Session.objects.count() == 0
    event = AuditEvent.objects.get()
    assert (event.outcome, event.session_id, event.user_id) == ("success", "", body["user_id"])


def test_telemetry_id_is_accepted_and_ignored(api, pem_profile, token_factory):
    response = post_attest(api, pem_profile.profile_id, token_factory(), telemetry_id="tel-1")
    assert response.status_code == 200, response.json()


def test_reuse_allowed_by_the_profile_replay_policy(api, profile_factory, signer, token_factory):
    profile = profile_factory(
        pem_keys=[signer.public_pem], can_jit_provision=True, replay_policy="allow"
    )
    token = token_factory()
    for _ in range(2):
        response = post_attest(api, profile.profile_id, token, session_duration_minutes=5)
        assert response.status_code == 200, response.json()
    assert Session.objects.count() == 2


# --- attaching to an existing session ---------------------------------------------------------


@pytest.mark.parametrize("by", ["session_token", "session_jwt"])
def test_attach_adds_a_factor_to_the_same_session(
    api, pem_profile, token_factory, verify_session_jwt, by
):
    first = start(api, pem_profile, token_factory)
    expires_before = Session.objects.get().expires_at
    response = post_attest(
        api, pem_profile.profile_id, token_factory(jti="jti-second"), **{by: first[by]}
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["session"]["session_id"] == first["session"]["session_id"]
    factors = body["session"]["authentication_factors"]
    assert [f["trusted_auth_token_factor"]["token_id"] for f in factors][1:] == ["jti-second"]
    assert len(factors) == 2
    row = Session.objects.get()
    assert len(row.authentication_factors) == 2
    assert row.expires_at == expires_before  # no duration given: the expiry is unchanged
    # Only the digest of a session token is stored, so attaching by JWT cannot return one.
    assert body["session_token"] == (first["session_token"] if by == "session_token" else "")
    _, claims = verify_session_jwt(body["session_jwt"])
    assert len(claims[SESSION_CLAIM]["authentication_factors"]) == 2


def test_attach_with_duration_sets_the_expiry_from_now(api, pem_profile, token_factory):
    first = start(api, pem_profile, token_factory, session_duration_minutes=5)
    before = timezone.now()
    response = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_token=first["session_token"],
        session_duration_minutes=600,
    )
    assert response.status_code == 200, response.json()
    expires_at = Session.objects.get().expires_at
    assert timedelta(minutes=599) < expires_at - before <= timedelta(minutes=600, seconds=5)


def test_session_token_and_session_jwt_together(api, pem_profile, token_factory):
    first = start(api, pem_profile, token_factory)
    response = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_token=first["session_token"],
        session_jwt=first["session_jwt"],
    )
    assert_rejected(response, 400, "too_many_session_arguments", sessions=1)
    assert len(Session.objects.get().authentication_factors) == 1


def test_attach_to_another_users_session(api, pem_profile, token_factory):
    ada = start(api, pem_profile, token_factory)
    bob_token = token_factory(email="bob@example.com")
    response = post_attest(
        api, pem_profile.profile_id, bob_token, session_token=ada["session_token"]
    )
    assert_rejected(response, 400, "session_user_mismatch", sessions=1)
    assert len(Session.objects.get().authentication_factors) == 1
    # A wrong session argument does not use up Bob's token.
    again = post_attest(api, pem_profile.profile_id, bob_token, session_duration_minutes=5)
    assert again.status_code == 200, again.json()
    assert again.json()["user_id"] != ada["user_id"]


def _revoke(session: Session) -> None:
    session.revoked_at = timezone.now()
    session.save()


def _expire(session: Session) -> None:
    session.expires_at = timezone.now() - timedelta(seconds=1)
    session.save()


@pytest.mark.parametrize(
    "by, spoil",
    [
        pytest.param("session_token", None, id="unknown-session-token"),
        pytest.param("session_token", _revoke, id="revoked-session-token"),
        pytest.param("session_token", _expire, id="expired-session-token"),
        pytest.param("session_jwt", _revoke, id="revoked-session-jwt"),
        pytest.param("session_jwt", None, id="session-jwt-from-another-signer"),
    ],
)
def test_attach_to_a_session_that_is_not_live(api, pem_profile, token_factory, by, spoil):
    first = start(api, pem_profile, token_factory)
    if spoil is not None:
        spoil(Session.objects.get())
        value = first[by]
    elif by == "session_token":
        value = "not-a-session-token"
    else:
        value = token_factory()  # a well-formed RS256 JWT, but not one of ours
    token = token_factory()
    response = post_attest(api, pem_profile.profile_id, token, **{by: value})
    assert_rejected(response, 404, "session_not_found", sessions=1)
    assert len(Session.objects.get().authentication_factors) == 1
    # The external token was not consumed by the bad session argument.
    again = post_attest(api, pem_profile.profile_id, token, session_duration_minutes=5)
    assert again.status_code == 200, again.json()


# --- session_duration_minutes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "minutes",
    [
        pytest.param(4, id="4"),
        pytest.param(527041, id="527041"),
        pytest.param(0, id="0"),
        pytest.param(-5, id="negative"),
        pytest.param("60", id="string-60"),
        pytest.param(True, id="true"),
        pytest.param(60.5, id="float"),
        pytest.param([60], id="list"),
    ],
)
def test_invalid_session_duration(api, pem_profile, token_factory, minutes):
    response = post_attest(
        api, pem_profile.profile_id, token_factory(), session_duration_minutes=minutes
    )
    assert_rejected(response, 400, "invalid_session_duration_minutes")


@pytest.mark.parametrize("minutes", [5, 527040])
def test_session_duration_limits_are_accepted(api, pem_profile, token_factory, minutes):
    before = timezone.now()
    start(api, pem_profile, token_factory, session_duration_minutes=minutes)
    lifetime = Session.objects.get().expires_at - before
    assert timedelta(minutes=minutes) - timedelta(seconds=5) < lifetime
    assert lifetime <= timedelta(minutes=minutes, seconds=5)


# --- session_custom_claims --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "https://stytch.com/session",
        "https://stytch.com/organization",
    ],
)
def test_reserved_custom_claims(api, pem_profile, token_factory, name):
    response = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_duration_minutes=60,
        session_custom_claims={"ok": 1, name: "x"},
    )
    assert_rejected(response, 400, "reserved_claims_in_custom_claims", name)


def test_custom_claims_size_limit(api, pem_profile, token_factory):
    # {"b":"…"} is 8 bytes of JSON around the value.
    at_limit = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_duration_minutes=60,
        session_custom_claims={"b": "x" * (4096 - 8)},
    )
    assert at_limit.status_code == 200, at_limit.json()
    response = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_duration_minutes=60,
        session_custom_claims={"b": "x" * (4096 - 7)},
    )
    assert_rejected(response, 400, "custom_claims_too_large", sessions=1)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(["a", "b"], id="list"),
        pytest.param("claims", id="string"),
        pytest.param(42, id="number"),
        pytest.param(True, id="bool"),
    ],
)
def test_custom_claims_that_are_not_an_object(api, pem_profile, token_factory, claims):
    response = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_duration_minutes=60,
        session_custom_claims=claims,
    )
    assert_rejected(response, 400, "bad_request", "session_custom_claims")


def test_null_deletes_a_custom_claim_on_attach(api, pem_profile, token_factory, verify_session_jwt):
    first = start(
        api, pem_profile, token_factory, session_custom_claims={"keep": 1, "drop": 2, "change": 3}
    )
    response = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_token=first["session_token"],
        session_custom_claims={"drop": None, "change": 4, "new": 5},
    )
    body = response.json()
    assert response.status_code == 200, body
    expected = {"keep": 1, "change": 4, "new": 5}
    assert body["session"]["custom_claims"] == expected
    assert Session.objects.get().custom_claims == expected
    _, claims = verify_session_jwt(body["session_jwt"])
    assert "drop" not in claims
    assert {k: claims[k] for k in expected} == expected


def test_attach_that_would_grow_custom_claims_past_the_limit(api, pem_profile, token_factory):
    first = start(api, pem_profile, token_factory, session_custom_claims={"a": "x" * 3000})
    token = token_factory()
    response = post_attest(
        api,
        pem_profile.profile_id,
        token,
        session_token=first["session_token"],
        session_custom_claims={"b": "y" * 3000},
    )
    assert_rejected(response, 400, "custom_claims_too_large", sessions=1)
    row = Session.objects.get()
    assert row.custom_claims == {"a": "x" * 3000} and len(row.authentication_factors) == 1


# --- user resolution --------------------------------------------------------------------------


def test_unknown_email_without_jit(api, profile_factory, signer, token_factory):
    profile = profile_factory(pem_keys=[signer.public_pem])
    response = post_attest(api, profile.profile_id, token_factory(), session_duration_minutes=60)
    assert_rejected(response, 404, "user_not_found")
    assert get_user_model().objects.count() == 0
    assert UserIdentity.objects.count() == 0


def test_jit_creates_a_django_user_and_its_identity(api, pem_profile, token_factory):
    body = start(api, pem_profile, token_factory)
    user = get_user_model().objects.get()
    identity = UserIdentity.objects.get()
    assert identity.django_user == user
    assert identity.user_id == body["user_id"]
    assert user.email == identity.email == "ada@example.com"
    assert not user.has_usable_password()
    assert Session.objects.get().user == user


@pytest.mark.parametrize("jit", [True, False], ids=["jit-on", "jit-off"])
def test_an_existing_django_user_is_not_adopted_by_email(
    api, profile_factory, signer, token_factory, jit
):
    get_user_model().objects.create_user("ada", "Ada@Example.com", "pw")
    profile = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=jit)
    response = post_attest(api, profile.profile_id, token_factory(), session_duration_minutes=60)
    assert_rejected(response, 403, "identity_link_required")
    assert "link_policy" in response.json()["error_message"]
    assert "trusted_auth identity link" in response.json()["error_message"]
    assert get_user_model().objects.count() == 1
    assert UserIdentity.objects.count() == Session.objects.count() == 0


@pytest.mark.parametrize("jit", [True, False], ids=["jit-on", "jit-off"])
def test_the_email_link_policy_adopts_an_existing_django_user(
    api, profile_factory, signer, token_factory, jit
):
    existing = get_user_model().objects.create_user("ada", "Ada@Example.com", "pw")
    profile = profile_factory(
        pem_keys=[signer.public_pem], can_jit_provision=jit, link_policy="email"
    )
    body = start(api, profile, token_factory)
    assert get_user_model().objects.count() == 1
    identity = UserIdentity.objects.get()
    assert identity.django_user == existing and identity.user_id == body["user_id"]
    assert identity.links.get().origin == "policy"
    again = start(api, profile, token_factory)
    assert again["user_id"] == body["user_id"]
    assert UserIdentity.objects.count() == 1


def test_email_match_is_case_insensitive(api, pem_profile, token_factory):
    first = post_attest(api, pem_profile.profile_id, token_factory(email="Ada@Example.COM"))
    second = post_attest(api, pem_profile.profile_id, token_factory(email="ada@example.com"))
    assert first.status_code == second.status_code == 200, (first.json(), second.json())
    assert first.json()["user_id"] == second.json()["user_id"]
    assert get_user_model().objects.count() == UserIdentity.objects.count() == 1


@pytest.fixture
def sub_profile(profile_factory, signer):
    return profile_factory(
        pem_keys=[signer.public_pem], can_jit_provision=True, attribute_mapping=EXTERNAL_ID_MAPPING
    )


def test_external_id_finds_the_user_after_an_email_change(api, sub_profile, token_factory):
    first = post_attest(
        api, sub_profile.profile_id, token_factory(sub="ext-1", email="ada@example.com")
    ).json()
    assert first["user"]["external_id"] == "ext-1"
    response = post_attest(
        api, sub_profile.profile_id, token_factory(sub="ext-1", email="ada.lovelace@example.com")
    )
    assert response.status_code == 200, response.json()
    assert response.json()["user_id"] == first["user_id"]
    assert UserIdentity.objects.count() == 1


def test_same_email_different_subject_of_the_same_issuer_is_refused(
    api, sub_profile, token_factory
):
    first = post_attest(api, sub_profile.profile_id, token_factory(sub="ext-1"))
    assert first.status_code == 200, first.json()
    response = post_attest(
        api, sub_profile.profile_id, token_factory(sub="ext-2"), session_duration_minutes=60
    )
    assert_rejected(response, 403, "identity_link_required")
    assert UserIdentity.objects.count() == 1


def test_external_id_is_scoped_to_the_issuer(api, sub_profile, profile_factory, token_factory):
    other_signer = SigningPair.rsa()
    other = profile_factory(
        pem_keys=[other_signer.public_pem],
        can_jit_provision=True,
        issuer="https://other-issuer.test",
        name="Other",
        attribute_mapping=EXTERNAL_ID_MAPPING,
    )
    ada = post_attest(api, sub_profile.profile_id, token_factory(sub="ext-1")).json()
    carol = post_attest(
        api,
        other.profile_id,
        token_factory(
            key=other_signer,
            iss="https://other-issuer.test",
            sub="ext-1",
            email="carol@example.com",
        ),
    )
    assert carol.status_code == 200, carol.json()
    assert carol.json()["user_id"] != ada["user_id"]
    # Both are linked by (their issuer, ext-1); Stytch's external_id stays one user's.
    assert ada["user"]["external_id"] == "ext-1"
    assert carol.json()["user"]["external_id"] is None
    assert sub_profile.issuer == ISSUER


# --- signals and audit ------------------------------------------------------------------------


@pytest.fixture
def received():
    calls: list[tuple[str, dict]] = []

    def on_success(**kwargs):
        calls.append(("succeeded", kwargs))

    def on_failure(**kwargs):
        calls.append(("failed", kwargs))

    signals.attest_succeeded.connect(on_success)
    signals.attest_failed.connect(on_failure)
    yield calls
    signals.attest_succeeded.disconnect(on_success)
    signals.attest_failed.disconnect(on_failure)


def test_attest_succeeded_signal(
    api, pem_profile, token_factory, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = start(api, pem_profile, token_factory)
    [(name, kwargs)] = received
    assert name == "succeeded"
    assert kwargs["sender"] is AuditEvent
    assert kwargs["event"] == AuditEvent.objects.get()
    assert kwargs["event"].outcome == "success"
    assert kwargs["event"].session_id == body["session"]["session_id"]
    assert kwargs["user"] == UserIdentity.objects.get().django_user
    assert kwargs["session"] == Session.objects.get()


def test_attest_succeeded_signal_without_a_session(
    api, pem_profile, token_factory, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_attest(api, pem_profile.profile_id, token_factory()).status_code == 200
    [(name, kwargs)] = received
    assert name == "succeeded" and kwargs["session"] is None
    assert kwargs["user"] == UserIdentity.objects.get().django_user


def test_attest_failed_signal(api, pem_profile, token_factory, received):
    response = post_attest(api, pem_profile.profile_id, token_factory(aud="elsewhere"))
    assert response.status_code == 401
    [(name, kwargs)] = received
    assert name == "failed"
    assert kwargs["sender"] is AuditEvent
    assert kwargs["event"] == AuditEvent.objects.get()
    assert kwargs["event"].outcome == "failure"
    assert isinstance(kwargs["error"], TrustedAuthError)
    assert kwargs["error"].error_type == "jwt_invalid_audience"


def test_audit_event_records_who_and_what(api, pem_profile, token_factory):
    token = token_factory(sub="ext-42", jti="jti-audited")
    response = api.post(
        "/v1/sessions/attest",
        {"profile_id": pem_profile.profile_id, "token": token, "session_duration_minutes": 60},
        format="json",
        HTTP_USER_AGENT="backend/1.0",
        REMOTE_ADDR="203.0.113.9",
    )
    body = response.json()
    assert response.status_code == 200, body
    event = AuditEvent.objects.get()
    assert event.profile == pem_profile
    assert event.requested_profile_id == pem_profile.profile_id
    assert (event.token_id, event.subject) == ("jti-audited", "ext-42")
    assert (event.user_id, event.session_id) == (body["user_id"], body["session"]["session_id"])
    assert (event.ip_address, event.user_agent) == ("203.0.113.9", "backend/1.0")


@pytest.mark.parametrize(
    "make_token, fields",
    [
        pytest.param(lambda make: make(), {"session_duration_minutes": 60}, id="success"),
        pytest.param(lambda make: make(aud="elsewhere"), {}, id="wrong-audience"),
        pytest.param(lambda make: make(email="not an email"), {}, id="invalid-email"),
        pytest.param(lambda make: make(key=SigningPair.rsa()), {}, id="unknown-key"),
        pytest.param(lambda make: make(padding="x" * 9000), {}, id="oversized"),
        pytest.param(lambda make: make(), {"session_duration_minutes": 4}, id="bad-request-field"),
        pytest.param(lambda make: make(), {"session_token": "nope"}, id="bad-session"),
    ],
)
def test_audit_event_never_holds_the_raw_token(api, pem_profile, token_factory, make_token, fields):
    token = make_token(token_factory)
    post_attest(api, pem_profile.profile_id, token, **fields)
    _, payload, signature = token.split(".")
    event = AuditEvent.objects.get()
    for field in AuditEvent._meta.concrete_fields:
        value = str(getattr(event, field.attname))
        assert token not in value, field.name
        assert payload[:40] not in value and signature[:40] not in value, field.name


def test_every_answer_is_the_json_envelope_whatever_accept_asks(
    api, pem_profile, token_factory, settings
):
    """Stytch's API answers JSON to any Accept header; so do we, success or error."""
    html = {"HTTP_ACCEPT": "text/html"}
    body = {
        "profile_id": pem_profile.profile_id,
        "token": token_factory(),
        "session_duration_minutes": 5,
    }
    response = api.post("/v1/sessions/attest", body, format="json", **html)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["session_jwt"]
    refused = api.post(
        "/v1/sessions/authenticate", {"session_token": "x" * 43}, format="json", **html
    )
    assert (refused.status_code, refused.json()["error_type"]) == (404, "session_not_found")
    jwks = APIClient().get(f"/v1/sessions/jwks/{settings.TRUSTED_AUTH['PROJECT_ID']}", **html)
    assert jwks.status_code == 200 and jwks.json()["keys"]
