"""The official ``stytch`` Python SDK against this app, over real TLS on loopback.

The Django project runs in a background thread behind HTTPS with a certificate from a test CA
(``trustme``); the SDK is built with ``custom_base_url`` pointing at it and trusts that CA only
through the environment (``REQUESTS_CA_BUNDLE`` for ``requests``, ``SSL_CERT_FILE`` for the
``urllib`` inside ``PyJWKClient``), exactly as a deployment would configure it. Certificate
verification stays on: ``test_the_sdk_verifies_our_certificate`` proves it.
"""

from __future__ import annotations

import jwt
import pytest
import requests
from stytch.consumer.models.sessions import Session as SDKSession
from stytch.core.response_base import StytchError

from trusted_auth.models import AuditEvent, Session, UserIdentity
from trusted_auth.sessions.secrets import create_secret

SDK_USER_AGENT_PREFIX = "Stytch Python v"


@pytest.fixture
def profile(pem_profile):
    """A PEM profile that may JIT-provision users (``tests/conftest.py``)."""
    assert pem_profile.can_jit_provision
    return pem_profile


def factor_token_ids(factors) -> list[str]:
    assert all(f.type == "trusted_auth_token" for f in factors), factors
    assert all(f.delivery_method == "trusted_token_exchange" for f in factors), factors
    return [f.trusted_auth_token_factor.token_id for f in factors]


# --- a session, end to end ---------------------------------------------------------------------


def test_attest_starts_a_session_the_sdk_verifies_locally(
    sdk, profile, token_factory, tls_live_server
):
    token = token_factory(email="grace@example.com", jti="jti-sdk-first")

    response = sdk.sessions.attest(
        profile_id=profile.profile_id, token=token, session_duration_minutes=60
    )

    assert response.status_code == 200 and response.request_id
    identity = UserIdentity.objects.get(email="grace@example.com")
    assert response.user_id == response.user.user_id == identity.user_id
    assert response.user.emails[0].email == "grace@example.com"
    assert response.session is not None and response.session.user_id == identity.user_id
    assert factor_token_ids(response.session.authentication_factors) == ["jti-sdk-first"]
    assert response.session_token and response.session_jwt

    row = Session.objects.get()
    assert row.session_id == response.session.session_id
    assert row.user_id == identity.django_user_id
    assert 59 * 60 < (row.expires_at - row.started_at).total_seconds() <= 60 * 60
    event = AuditEvent.objects.get()
    assert (event.outcome, event.session_id, event.token_id, event.ip_address) == (
        "success",
        row.session_id,
        "jti-sdk-first",
        "127.0.0.1",
    )
    assert event.user_agent.startswith(SDK_USER_AGENT_PREFIX)  # it came through the SDK

    # The SDK fetches our JWKS over TLS and checks signature, aud = project, iss = base URL.
    assert (
        jwt.decode(response.session_jwt, options={"verify_signature": False})["iss"]
        == tls_live_server.url
    )
    local = sdk.sessions.authenticate_jwt_local(session_jwt=response.session_jwt)
    assert isinstance(local, SDKSession)
    assert local.session_id == row.session_id
    assert local.user_id == identity.user_id
    assert factor_token_ids(local.authentication_factors) == ["jti-sdk-first"]


def test_attest_without_duration_resolves_the_user_and_starts_no_session(
    sdk, profile, token_factory
):
    response = sdk.sessions.attest(
        profile_id=profile.profile_id, token=token_factory(email="lin@example.com")
    )

    assert response.session is None
    assert response.session_token == "" and response.session_jwt == ""
    identity = UserIdentity.objects.get(email="lin@example.com")  # JIT-provisioned
    assert response.user_id == identity.user_id
    assert response.user.emails[0].email == "lin@example.com"
    assert not Session.objects.exists()
    event = AuditEvent.objects.get()
    assert (event.outcome, event.user_id, event.session_id) == ("success", identity.user_id, "")


@pytest.mark.parametrize("session_argument", ["session_token", "session_jwt"])
def test_attest_attaches_a_factor_to_an_existing_session(
    sdk, profile, token_factory, session_argument
):
    first = sdk.sessions.attest(
        profile_id=profile.profile_id,
        token=token_factory(jti="jti-factor-1"),
        session_duration_minutes=60,
    )

    second = sdk.sessions.attest(
        profile_id=profile.profile_id,
        token=token_factory(jti="jti-factor-2"),
        **{session_argument: getattr(first, session_argument)},
    )

    assert second.session is not None
    assert second.session.session_id == first.session.session_id
    assert second.user_id == first.user_id
    assert factor_token_ids(second.session.authentication_factors) == [
        "jti-factor-1",
        "jti-factor-2",
    ]
    # Only the holder of the session token gets it back; we keep nothing but its digest.
    expected_token = first.session_token if session_argument == "session_token" else ""
    assert second.session_token == expected_token
    row = Session.objects.get()
    assert row.session_id == first.session.session_id
    assert [f["trusted_auth_token_factor"]["token_id"] for f in row.authentication_factors] == [
        "jti-factor-1",
        "jti-factor-2",
    ]
    assert (
        list(AuditEvent.objects.order_by("id").values_list("outcome", "session_id"))
        == [("success", row.session_id)] * 2
    )
    # The fresh session JWT carries both factors and verifies with the SDK.
    local = sdk.sessions.authenticate_jwt_local(session_jwt=second.session_jwt)
    assert local is not None and local.session_id == row.session_id
    assert factor_token_ids(local.authentication_factors) == ["jti-factor-1", "jti-factor-2"]


# --- errors ------------------------------------------------------------------------------------


def test_unknown_profile_raises_stytch_error(sdk, token_factory):
    with pytest.raises(StytchError) as caught:
        sdk.sessions.attest(
            profile_id="ttp-00000000-0000-0000-0000-000000000000",
            token=token_factory(),
            session_duration_minutes=60,
        )

    details = caught.value.details
    assert (details.status_code, details.error_type) == (404, "trusted_token_profile_not_found")
    assert details.request_id and details.error_message
    assert not Session.objects.exists()
    event = AuditEvent.objects.get()
    assert (event.outcome, event.error_type, event.requested_profile_id) == (
        "failure",
        "trusted_token_profile_not_found",
        "ttp-00000000-0000-0000-0000-000000000000",
    )


def test_bad_secret_raises_unauthorized_credentials(
    trust_test_ca, sdk_factory, profile, token_factory
):
    create_secret("the real one")
    sdk = sdk_factory("secret-not-the-right-one")

    with pytest.raises(StytchError) as caught:
        sdk.sessions.attest(
            profile_id=profile.profile_id, token=token_factory(), session_duration_minutes=60
        )

    details = caught.value.details
    assert (details.status_code, details.error_type) == (401, "unauthorized_credentials")
    assert details.request_id
    assert not Session.objects.exists()
    assert not UserIdentity.objects.exists()


# --- TLS verification is real ------------------------------------------------------------------


def test_the_sdk_verifies_our_certificate(
    trust_test_ca, sdk_factory, profile, token_factory, monkeypatch
):
    """Without the test CA in the environment both SDK transports refuse our server."""
    secret = create_secret("sdk compat").clear_text
    trusting = sdk_factory(secret)
    session_jwt = trusting.sessions.attest(
        profile_id=profile.profile_id, token=token_factory(), session_duration_minutes=60
    ).session_jwt
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("SSL_CERT_FILE")
    untrusting = sdk_factory(secret)

    with pytest.raises(requests.exceptions.SSLError):
        untrusting.sessions.attest(profile_id=profile.profile_id, token=token_factory())
    with pytest.raises(jwt.exceptions.PyJWKClientConnectionError, match="CERTIFICATE_VERIFY"):
        untrusting.sessions.authenticate_jwt_local(session_jwt=session_jwt)
    assert AuditEvent.objects.count() == 1  # only the trusted attest reached the app
