"""The OAuth face driven by real client libraries over TLS: Authlib's ``OAuth2Session`` runs
token exchange, JWT bearer, refresh, introspection and revocation against the token endpoint it
discovers from our metadata; PyJWT's ``PyJWKClient`` verifies our session JWT with the keys at
the discovered ``jwks_uri``."""

from __future__ import annotations

import jwt
import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from stytch.core.response_base import StytchError

from trusted_auth.models import AuditEvent, Session
from trusted_auth.sessions.secrets import create_secret

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@pytest.fixture
def metadata(trust_test_ca, tls_live_server) -> dict:
    response = requests.get(f"{tls_live_server.url}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def oauth_client(metadata, settings):
    client = OAuth2Session(
        settings.TRUSTED_AUTH["PROJECT_ID"],
        create_secret("authlib").clear_text,
        token_endpoint=metadata["token_endpoint"],
        token_endpoint_auth_method="client_secret_basic",
    )
    yield client
    client.close()


def test_discovered_issuer_is_exactly_ours(metadata, tls_live_server, settings):
    assert metadata["issuer"] == settings.TRUSTED_AUTH["ISSUER"] == tls_live_server.url


def test_authlib_token_exchange_refresh_introspect_revoke(
    oauth_client, metadata, pem_profile, token_factory, settings
):
    token = oauth_client.fetch_token(
        grant_type=TOKEN_EXCHANGE,
        subject_token=token_factory(email="authlib@example.com"),
        subject_token_type=JWT_TYPE,
    )
    session = Session.objects.get()
    assert token["token_type"] == "Bearer"
    assert token["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"

    # PyJWT verifies the access token with the keys at the discovered jwks_uri.
    jwks_client = jwt.PyJWKClient(metadata["jwks_uri"])
    signing_key = jwks_client.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(
        token["access_token"],
        signing_key.key,
        algorithms=["RS256"],
        audience=settings.TRUSTED_AUTH["PROJECT_ID"],
        issuer=metadata["issuer"],
    )
    assert claims["https://stytch.com/session"]["id"] == session.session_id

    refreshed = oauth_client.refresh_token(metadata["token_endpoint"])
    assert refreshed["refresh_token"] == token["refresh_token"]
    refreshed_claims = jwt.decode(refreshed["access_token"], options={"verify_signature": False})
    assert refreshed_claims["sub"] == claims["sub"]

    introspected = oauth_client.introspect_token(
        metadata["introspection_endpoint"], token=token["refresh_token"]
    ).json()
    assert introspected["active"] is True
    assert introspected["session_id"] == session.session_id
    assert introspected["sub"] == claims["sub"]

    revoked = oauth_client.revoke_token(
        metadata["revocation_endpoint"], token=token["access_token"]
    )
    assert revoked.status_code == 200
    Session.objects.get(revoked_at__isnull=False)
    after = oauth_client.introspect_token(
        metadata["introspection_endpoint"], token=token["refresh_token"]
    ).json()
    assert after == {"active": False}
    with pytest.raises(OAuthError) as refused:
        oauth_client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_grant"
    [event] = AuditEvent.objects.filter(action="attest")
    assert (event.outcome, event.via) == ("success", "oauth")


def test_authlib_jwt_bearer_and_a_replay_on_the_other_face(
    oauth_client, sdk, pem_profile, token_factory
):
    assertion = token_factory(email="bearer@example.com")

    token = oauth_client.fetch_token(grant_type=JWT_BEARER, assertion=assertion)

    assert token["token_type"] == "Bearer" and token["refresh_token"]
    # The same token on the Stytch face, through the official SDK: replayed.
    with pytest.raises(StytchError) as replayed:
        sdk.sessions.attest(
            profile_id=pem_profile.profile_id, token=assertion, session_duration_minutes=5
        )
    assert replayed.value.details.error_type == "trusted_token_replayed"
    with pytest.raises(OAuthError) as refused:
        oauth_client.fetch_token(grant_type=JWT_BEARER, assertion=assertion)
    assert refused.value.error == "invalid_grant"
    assert Session.objects.count() == 1
    assert list(AuditEvent.objects.order_by("id").values_list("via", "error_type")) == [
        ("oauth", ""),
        ("api", "trusted_token_replayed"),
        ("oauth", "trusted_token_replayed"),
    ]


def test_authlib_with_a_wrong_secret_is_invalid_client(metadata, settings, pem_profile):
    client = OAuth2Session(
        settings.TRUSTED_AUTH["PROJECT_ID"],
        "wrong-secret",
        token_endpoint=metadata["token_endpoint"],
    )
    with client, pytest.raises(OAuthError) as refused:
        client.fetch_token(grant_type=JWT_BEARER, assertion="x")
    assert refused.value.error == "invalid_client"
