"""The OAuth face (DESIGN.md §8) as a client sees it through Django's test client: metadata,
the token endpoint's grants and errors (RFC 6749 §5.2), introspection and revocation. The same
attest flow serves both faces: replay across them, one audit event per grant.

Real client libraries over TLS are in ``test_oauth_clients.py`` and ``test_node_oauth.py``.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import pytest
import yaml
from django.test import Client
from django.utils import timezone

from trusted_auth.api.docs_views import openapi_document
from trusted_auth.errors import TrustedAuthError
from trusted_auth.identities.organizations import create_member, create_organization
from trusted_auth.models import AuditEvent, Session
from trusted_auth.oauth import errors as oauth_errors
from trusted_auth.oauth.errors import OAuthError, oauth_error

from .test_attest_rejections import post_attest

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


@pytest.fixture
def client_auth(api_secret, settings) -> str:
    credentials = f"{settings.TRUSTED_AUTH['PROJECT_ID']}:{api_secret}".encode()
    return "Basic " + base64.b64encode(credentials).decode()


@pytest.fixture
def oauth(client_auth):
    """POST a form to an OAuth endpoint with the project's client credentials."""
    client = Client()

    def post(path: str, auth: str | None = client_auth, **params: Any):
        headers = {"authorization": auth} if auth else {}
        return client.post(
            f"/oauth2/{path}",
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )

    return post


def exchange(oauth, token: str, **params: Any):
    params.setdefault("subject_token_type", JWT_TYPE)
    return oauth("token", grant_type=TOKEN_EXCHANGE, subject_token=token, **params)


def assert_oauth_error(response, status: int, error: str, fragment: str = "") -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["error"] == error, body
    assert fragment in body["error_description"], body
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    return body


# --- metadata ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
)
def test_metadata_names_our_issuer_keys_and_endpoints(client, settings, path):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": "https://auth.example.com"}
    project_id = settings.TRUSTED_AUTH["PROJECT_ID"]

    response = client.get(path)

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=3600"
    metadata = response.json()
    assert metadata["issuer"] == "https://auth.example.com"
    assert metadata["jwks_uri"] == f"https://auth.example.com/v1/sessions/jwks/{project_id}"
    assert metadata["token_endpoint"] == "https://auth.example.com/oauth2/token"
    assert metadata["introspection_endpoint"] == "https://auth.example.com/oauth2/introspect"
    assert metadata["revocation_endpoint"] == "https://auth.example.com/oauth2/revoke"
    assert metadata["grant_types_supported"] == [TOKEN_EXCHANGE, JWT_BEARER, "refresh_token"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert metadata["response_types_supported"] == []
    assert "authorization_endpoint" not in metadata
    assert "scopes_supported" not in metadata


@pytest.mark.urls("tests.oauth_urls")
def test_an_issuer_with_a_path_serves_both_well_known_locations(client, settings):
    """Mounted at /auth: OIDC's suffix under the mount, RFC 8414's insertion at the root."""
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": "https://example.com/auth"}

    oidc = client.get("/auth/.well-known/openid-configuration")
    rfc8414 = client.get("/.well-known/oauth-authorization-server/auth")
    other = client.get("/.well-known/oauth-authorization-server/elsewhere")

    assert oidc.status_code == rfc8414.status_code == 200
    assert oidc.json() == rfc8414.json()
    assert oidc.json()["issuer"] == "https://example.com/auth"
    assert oidc.json()["token_endpoint"] == "https://example.com/auth/oauth2/token"
    assert other.status_code == 404


# --- token exchange and JWT bearer -------------------------------------------------------------


@pytest.mark.parametrize("subject_token_type", [JWT_TYPE, ID_TOKEN_TYPE, ACCESS_TOKEN_TYPE])
def test_token_exchange_starts_a_session(
    oauth, pem_profile, token_factory, settings, subject_token_type
):
    response = exchange(oauth, token_factory(), subject_token_type=subject_token_type)

    body = response.json()
    assert response.status_code == 200, body
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
    session = Session.objects.get()
    assert body["token_type"] == "Bearer"
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert "scope" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["https://stytch.com/session"]["id"] == session.session_id
    assert 0 < body["expires_in"] <= 300
    assert claims["exp"] - 2 <= claims["iat"] + body["expires_in"] <= claims["exp"]
    # The default length: OAUTH_SESSION_MINUTES (60).
    assert abs((session.expires_at - session.started_at) - timedelta(minutes=60)) < timedelta(
        seconds=5
    )
    assert Session.objects.get(token_digest=session.token_digest)  # refresh_token is ours
    from trusted_auth.sessions.sessions import token_digest

    assert token_digest(body["refresh_token"]) == session.token_digest
    [event] = AuditEvent.objects.all()
    assert (event.action, event.outcome, event.via) == ("attest", "success", "oauth")
    assert event.session_id == session.session_id


def test_token_exchange_honours_requested_jwt_type_and_duration(oauth, pem_profile, token_factory):
    response = exchange(
        oauth,
        token_factory(),
        requested_token_type=JWT_TYPE,
        session_duration_minutes="600",
        profile_id=pem_profile.profile_id,
    )

    assert response.status_code == 200, response.json()
    assert response.json()["issued_token_type"] == JWT_TYPE
    session = Session.objects.get()
    assert session.expires_at - session.started_at > timedelta(minutes=599)


def test_jwt_bearer_starts_a_session(oauth, pem_profile, token_factory):
    response = oauth("token", grant_type=JWT_BEARER, assertion=token_factory())

    body = response.json()
    assert response.status_code == 200, body
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert Session.objects.count() == 1


def test_a_token_consumed_by_oauth_is_replayed_on_attest_and_back(
    api, oauth, pem_profile, token_factory
):
    first = token_factory()
    assert exchange(oauth, first).status_code == 200
    replayed_on_api = post_attest(api, pem_profile.profile_id, first, session_duration_minutes=5)
    assert replayed_on_api.status_code == 401
    assert replayed_on_api.json()["error_type"] == "trusted_token_replayed"

    second = token_factory()
    assert post_attest(api, pem_profile.profile_id, second).status_code == 200
    body = assert_oauth_error(
        oauth("token", grant_type=JWT_BEARER, assertion=second), 400, "invalid_grant"
    )
    assert body["error_uri"].endswith("/trusted_auth/errors#trusted_token_replayed")

    events = list(AuditEvent.objects.order_by("id").values_list("via", "outcome", "error_type"))
    assert events == [
        ("oauth", "success", ""),
        ("api", "failure", "trusted_token_replayed"),
        ("api", "success", ""),
        ("oauth", "failure", "trusted_token_replayed"),
    ]
    assert Session.objects.count() == 1


def test_profile_is_chosen_by_issuer_and_audience(oauth, profile_factory, signer, token_factory):
    profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True, audience="other-aud")
    chosen = profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)

    response = exchange(oauth, token_factory())

    assert response.status_code == 200, response.json()
    assert Session.objects.get().profile == chosen


def test_ambiguous_or_unknown_issuer_names_profile_id(
    oauth, profile_factory, signer, token_factory
):
    body = assert_oauth_error(
        exchange(oauth, token_factory()), 400, "invalid_request", "pass profile_id"
    )
    assert "no profile trusts" in body["error_description"]
    for _ in range(2):
        profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)
    body = assert_oauth_error(
        exchange(oauth, token_factory()), 400, "invalid_request", "pass profile_id"
    )
    assert "several profiles" in body["error_description"]
    assert AuditEvent.objects.filter(outcome="failure", via="oauth").count() == 2
    assert Session.objects.count() == 0


def test_a_rejected_token_is_invalid_grant_with_one_failure_event(oauth, pem_profile, signer):
    from trusted_auth.testing.issuers import SigningPair, default_claims

    forged = SigningPair.rsa().sign(default_claims())

    body = assert_oauth_error(exchange(oauth, forged), 400, "invalid_grant")

    assert body["error_uri"].endswith("#invalid_trusted_auth_token")
    [event] = AuditEvent.objects.all()
    assert (event.outcome, event.error_type, event.via) == (
        "failure",
        "invalid_trusted_auth_token",
        "oauth",
    )


@pytest.mark.parametrize(
    ("params", "status", "error", "fragment"),
    [
        ({}, 400, "invalid_request", "grant_type is required"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", TOKEN_EXCHANGE),
        ({"grant_type": TOKEN_EXCHANGE}, 400, "invalid_request", "subject_token is required"),
        (
            {"grant_type": TOKEN_EXCHANGE, "subject_token": "x"},
            400,
            "invalid_request",
            "subject_token_type is required",
        ),
        (
            {"grant_type": TOKEN_EXCHANGE, "subject_token": "x", "subject_token_type": "saml"},
            400,
            "invalid_request",
            "subject_token_type must be",
        ),
        (
            {
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": "x",
                "subject_token_type": JWT_TYPE,
                "audience": "someone-else",
            },
            400,
            "invalid_target",
            "audience",
        ),
        (
            {"grant_type": JWT_BEARER, "assertion": "x", "scope": "openid"},
            400,
            "invalid_scope",
            "no scopes",
        ),
        ({"grant_type": JWT_BEARER}, 400, "invalid_request", "assertion is required"),
        ({"grant_type": "refresh_token"}, 400, "invalid_request", "refresh_token is required"),
        (
            {"grant_type": "refresh_token", "refresh_token": "nope"},
            400,
            "invalid_grant",
            "",
        ),
        (
            {"grant_type": JWT_BEARER, "assertion": "x", "session_duration_minutes": "1"},
            400,
            "invalid_request",
            "pass profile_id",
        ),
    ],
)
def test_bad_requests_are_answered_the_rfc_6749_way(oauth, db, params, status, error, fragment):
    assert_oauth_error(oauth("token", **params), status, error, fragment)


def test_session_duration_out_of_range_is_invalid_request(oauth, pem_profile, token_factory):
    body = assert_oauth_error(
        exchange(oauth, token_factory(), session_duration_minutes="1"),
        400,
        "invalid_request",
        "session_duration_minutes",
    )
    assert body["error_uri"].endswith("#invalid_session_duration_minutes")


@pytest.mark.parametrize("auth", [None, "Basic " + base64.b64encode(b"project:wrong").decode()])
def test_client_authentication_failures_are_invalid_client(oauth, db, auth):
    for path in ("token", "introspect", "revoke"):
        response = oauth(path, auth=auth, grant_type=JWT_BEARER, assertion="x", token="x")
        assert_oauth_error(response, 401, "invalid_client")
        assert response["WWW-Authenticate"] == 'Basic realm="trusted_auth"'


def test_form_urlencoded_basic_credentials_authenticate(oauth, api_secret, settings):
    """RFC 6749 §2.3.1: clients form-urlencode the id and secret before base64."""
    credentials = f"{quote(settings.TRUSTED_AUTH['PROJECT_ID'])}:{quote(api_secret)}".encode()
    response = oauth(
        "introspect", auth="Basic " + base64.b64encode(credentials).decode(), token="x"
    )
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_a_json_body_is_invalid_request(client, client_auth, db):
    response = client.post(
        "/oauth2/token",
        {"grant_type": JWT_BEARER, "assertion": "x"},
        content_type="application/json",
        headers={"authorization": client_auth},
    )
    assert_oauth_error(response, 400, "invalid_request", "x-www-form-urlencoded")


def test_b2b_exchange_with_organization_id(oauth, profile_factory, signer, token_factory):
    profile = profile_factory(pem_keys=[signer.public_pem])
    organization = create_organization(name="Acme", slug="acme")
    member = create_member(organization=organization, email="ada@example.com")

    response = exchange(oauth, token_factory(), organization_id=organization.organization_id)

    assert response.status_code == 200, response.json()
    session = Session.objects.get()
    assert session.member == member and session.profile == profile
    introspection = oauth("introspect", token=response.json()["access_token"]).json()
    assert introspection["sub"] == member.member_id
    assert introspection["organization_id"] == organization.organization_id
    assert introspection["organization"] == {
        "organization_id": organization.organization_id,
        "slug": "acme",
    }
    assert introspection["roles"] == session.roles
    [event] = AuditEvent.objects.filter(action="b2b_attest")
    assert (event.action, event.via) == ("b2b_attest", "oauth")


def test_unknown_organization_is_invalid_request(oauth, pem_profile, token_factory):
    assert_oauth_error(
        exchange(oauth, token_factory(), organization_id="organization-test-nope"),
        400,
        "invalid_request",
    )


# --- refresh, introspection, revocation --------------------------------------------------------


@pytest.fixture
def tokens(oauth, pem_profile, token_factory) -> dict[str, Any]:
    response = exchange(oauth, token_factory())
    assert response.status_code == 200, response.json()
    return response.json()


def test_refresh_answers_a_fresh_jwt_for_the_same_session(oauth, tokens):
    response = oauth("token", grant_type="refresh_token", refresh_token=tokens["refresh_token"])

    body = response.json()
    assert response.status_code == 200, body
    assert body["refresh_token"] == tokens["refresh_token"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    session = Session.objects.get()
    assert claims["https://stytch.com/session"]["id"] == session.session_id
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0


def test_introspection_of_a_session_token_and_a_session_jwt(oauth, tokens, settings):
    session = Session.objects.get()
    identity = session.user.trusted_auth_identity

    by_token = oauth("introspect", token=tokens["refresh_token"])
    by_jwt = oauth("introspect", token=tokens["access_token"], token_type_hint="access_token")

    for response in (by_token, by_jwt):
        body = response.json()
        assert response.status_code == 200, body
        assert response["Cache-Control"] == "no-store"
        assert body["active"] is True
        assert body["sub"] == identity.user_id
        assert body["session_id"] == session.session_id
        assert body["iss"] == settings.TRUSTED_AUTH["ISSUER"]
        assert body["aud"] == [settings.TRUSTED_AUTH["PROJECT_ID"]]
        assert body["roles"] == session.roles
        assert "organization" not in body
    assert by_token.json()["exp"] == int(session.expires_at.timestamp())
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert (by_jwt.json()["iat"], by_jwt.json()["exp"]) == (claims["iat"], claims["exp"])


def test_introspection_is_inactive_alike_for_every_dead_token(
    oauth, tokens, token_factory, settings
):
    session = Session.objects.get()
    garbage = ["garbage", "a.b.c", token_factory(), tokens["refresh_token"] + "x"]
    answers = [oauth("introspect", token=token).json() for token in garbage]

    session.expires_at = timezone.now() - timedelta(seconds=1)
    session.save(update_fields=["expires_at"])
    answers.append(oauth("introspect", token=tokens["refresh_token"]).json())
    session.expires_at = timezone.now() + timedelta(hours=1)
    session.last_accessed_at = timezone.now() - timedelta(hours=2)
    session.save(update_fields=["expires_at", "last_accessed_at"])
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_IDLE_TIMEOUT_SECONDS": 3600}
    answers.append(oauth("introspect", token=tokens["refresh_token"]).json())

    assert answers == [{"active": False}] * len(answers)


def test_revocation_ends_the_session_and_accepts_unknown_tokens(oauth, tokens):
    assert oauth("revoke", token="unknown-token").status_code == 200

    response = oauth("revoke", token=tokens["access_token"])

    assert response.status_code == 200
    assert Session.objects.get().revoked_at is not None
    assert oauth("introspect", token=tokens["refresh_token"]).json() == {"active": False}
    assert_oauth_error(
        oauth("token", grant_type="refresh_token", refresh_token=tokens["refresh_token"]),
        400,
        "invalid_grant",
    )
    assert oauth("revoke", token=tokens["refresh_token"]).status_code == 200


def test_revocation_by_session_token(oauth, tokens):
    assert oauth("revoke", token=tokens["refresh_token"]).status_code == 200
    assert Session.objects.get().revoked_at is not None


def test_missing_token_is_invalid_request(oauth, db):
    assert_oauth_error(oauth("introspect"), 400, "invalid_request", "token is required")
    assert_oauth_error(oauth("revoke"), 400, "invalid_request", "token is required")


# --- the one table -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (
            TrustedAuthError("x", error_type="trusted_token_replayed", status_code=401),
            "invalid_grant",
            400,
        ),
        (
            TrustedAuthError("x", error_type="identity_link_required", status_code=403),
            "invalid_grant",
            400,
        ),
        (
            TrustedAuthError("x", error_type="unauthorized_credentials", status_code=401),
            "invalid_client",
            401,
        ),
        (
            TrustedAuthError("x", error_type="jwks_unavailable", status_code=503),
            "temporarily_unavailable",
            503,
        ),
        (TrustedAuthError("x", error_type="custom_claims_too_large"), "invalid_request", 400),
    ],
)
def test_domain_errors_map_to_oauth_codes(error, code, status):
    mapped = oauth_error(error)
    assert isinstance(mapped, OAuthError)
    assert (mapped.error, mapped.status_code, mapped.error_type) == (code, status, error.error_type)


def test_every_oauth_error_code_is_in_openapi_and_the_errors_reference():
    codes = {
        value
        for name, value in vars(oauth_errors).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str)
    }
    document = yaml.safe_load(openapi_document())
    enum = document["components"]["schemas"]["OAuthErrorResponse"]["properties"]["error"]["enum"]
    reference = (Path(__file__).parent.parent / "docs/reference/errors.md").read_text()
    assert set(enum) == codes
    assert [code for code in sorted(codes) if f"| `{code}` |" not in reference] == []


def test_an_oversized_body_is_invalid_request(client, client_auth, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(
        "/oauth2/token",
        urlencode({"grant_type": JWT_BEARER, "assertion": "x" * 2000}),
        content_type="application/x-www-form-urlencoded",
        headers={"authorization": client_auth},
    )
    assert_oauth_error(response, 400, "invalid_request", "too large")
