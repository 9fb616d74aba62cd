"""Rejections that say what happened and what to do (issue 16): in the attest API's
``error_message``, in ``profile test`` and on the admin's test page, which share one pipeline."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from trusted_auth.issuers import rejection_hints

from .issuers import AUDIENCE, ISSUER


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _attest(api, profile, token) -> dict:
    response = api.post(
        "/v1/sessions/attest",
        {"profile_id": profile.profile_id, "token": token, "session_duration_minutes": 5},
        format="json",
    )
    body = response.json()
    assert response.status_code == body["status_code"]
    return body


def _profile_test(profile, token) -> str:
    with pytest.raises(CommandError) as raised:
        call_command(
            "trusted_auth",
            "profile",
            "test",
            "--profile-id",
            profile.profile_id,
            "--token",
            token,
            stdout=StringIO(),
        )
    return str(raised.value)


def _admin_test_page(admin_client, profile, token) -> str:
    url = reverse("admin:trusted_auth_trustedauthtokenprofile_test_token", args=[profile.pk])
    return admin_client.post(url, {"token": token}).content.decode()


# --- when: expired and not yet valid -------------------------------------------------------


def test_an_expired_token_says_when_in_utc_and_how_long_ago(
    api, admin_client, pem_profile, token_factory
):
    now = int(time.time())
    token = token_factory(iat=now - 600, exp=now - 300)
    expected = f"token expired at {_utc(now - 300)}, 5 minutes ago"

    body = _attest(api, pem_profile, token)
    assert (body["status_code"], body["error_type"]) == (401, "jwt_invalid_claims")
    assert body["error_message"].startswith(expected), body["error_message"]
    assert "leeway 30 s" in body["error_message"]
    assert "Signature has expired" not in body["error_message"]
    assert expected in _profile_test(pem_profile, token)
    assert expected in _admin_test_page(admin_client, pem_profile, token)


def test_a_token_not_valid_before_a_future_nbf_says_from_when(
    api, admin_client, pem_profile, token_factory
):
    now = int(time.time())
    token = token_factory(iat=now, nbf=now + 600, exp=now + 900)
    expected = f"token is not yet valid (nbf): valid from {_utc(now + 600)}, in 10 minutes"

    body = _attest(api, pem_profile, token)
    assert (body["status_code"], body["error_type"]) == (401, "jwt_invalid_claims")
    assert body["error_message"].startswith(expected), body["error_message"]
    assert "check the issuer's clock" in body["error_message"]
    assert expected in _profile_test(pem_profile, token)
    assert expected in _admin_test_page(admin_client, pem_profile, token)


def test_a_token_issued_in_the_future_says_how_far(api, pem_profile, token_factory):
    now = int(time.time())
    token = token_factory(iat=now + 7200, exp=now + 7400)

    body = _attest(api, pem_profile, token)
    assert body["error_type"] == "jwt_invalid_claims"
    assert body["error_message"].startswith(
        f"token is not yet valid (iat): issued at {_utc(now + 7200)}, 2 hours in the future"
    ), body["error_message"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (300, "5 minutes"),
        (4000, "67 minutes"),
        (36000, "10 hours"),
        (5400, "2 hours"),
        (3 * 86400, "3 days"),
    ],
)
def test_durations_read_naturally(seconds, text):
    assert rejection_hints.duration(seconds) == text
    assert rejection_hints.duration(-seconds) == text


# --- why: an issuer that is almost the profile's -------------------------------------------


@pytest.mark.parametrize(
    ("profile_issuer", "difference"),
    [
        (ISSUER + "/", "a trailing slash (the profile's issuer has one, the token's iss does not)"),
        (
            ISSUER.replace("https://", "http://"),
            "the scheme (http in the profile, https in the token)",
        ),
        (ISSUER.replace("issuer.test", "Issuer.Test"), "letter case"),
        (
            ISSUER.upper().replace("HTTPS://", "http://") + "/",
            "a trailing slash (the profile's issuer has one, the token's iss does not) and the "
            "scheme (http in the profile, https in the token) and letter case",
        ),
    ],
    ids=["trailing-slash", "scheme", "case", "all-three"],
)
def test_an_issuer_that_differs_only_in_form_gets_a_hint(
    api, admin_client, profile_factory, signer, token_factory, profile_issuer, difference
):
    profile = profile_factory(pem_keys=[signer.public_pem], issuer=profile_issuer)
    token = token_factory()  # iss = ISSUER, no trailing slash, as Supabase signs it

    body = _attest(api, profile, token)
    assert (body["status_code"], body["error_type"]) == (401, "jwt_invalid_issuer")
    assert body["error_message"] == (
        f"token issuer {ISSUER!r} does not match the profile's {profile_issuer!r}; they differ "
        f"only by {difference}: issuers are compared exactly, so set the profile's issuer to "
        "the token's iss"
    )
    assert f"they differ only by {difference}" in _profile_test(profile, token)
    page = _admin_test_page(admin_client, profile, token)
    assert "they differ only by" in page


def test_a_different_issuer_gets_no_hint(api, profile_factory, signer, token_factory):
    profile = profile_factory(pem_keys=[signer.public_pem], issuer="https://other.test/auth/v1")
    body = _attest(api, profile, token_factory())
    assert body["error_type"] == "jwt_invalid_issuer"
    assert body["error_message"] == (
        f"token issuer {ISSUER!r} does not match the profile's 'https://other.test/auth/v1'"
    )


# --- JWKS: a private CA, a private network ---------------------------------------------------


def test_a_jwks_host_with_an_untrusted_ca_names_the_reason_and_the_setting(
    api, settings, issuer, profile_factory
):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_CA_BUNDLE": ""}  # certifi's roots
    profile = profile_factory(jwks_url=issuer.url)

    body = _attest(api, profile, issuer.signer.sign(_claims()))

    assert (body["status_code"], body["error_type"]) == (503, "jwks_unavailable")
    message = body["error_message"]
    assert "certificate verify failed: unable to get local issuer certificate" in message
    assert "TRUSTED_AUTH['JWKS_CA_BUNDLE']" in message
    assert "TRUSTED_AUTH_JWKS_CA_BUNDLE" in message
    assert "REQUESTS_CA_BUNDLE is not used" in message
    assert "SSLError" not in message


def test_jwks_refresh_shows_the_same_tls_reason(settings, issuer, profile_factory):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_CA_BUNDLE": ""}
    profile = profile_factory(jwks_url=issuer.url)
    with pytest.raises(CommandError) as raised:
        call_command(
            "trusted_auth", "jwks", "refresh", "--profile-id", profile.profile_id, stdout=StringIO()
        )
    assert "unable to get local issuer certificate" in str(raised.value)
    assert "TRUSTED_AUTH_JWKS_CA_BUNDLE" in str(raised.value)


def test_a_private_network_refusal_names_the_setting_and_the_environment_variable(
    api, settings, issuer, profile_factory
):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_ALLOW_PRIVATE_NETWORKS": False}
    profile = profile_factory(jwks_url=issuer.url)

    body = _attest(api, profile, issuer.signer.sign(_claims()))

    assert body["error_type"] in ("invalid_jwks_url", "jwks_unavailable")
    message = body["error_message"]
    assert "non-public address 127.0.0.1" in message
    assert "TRUSTED_AUTH['JWKS_ALLOW_PRIVATE_NETWORKS'] = True" in message
    assert "TRUSTED_AUTH_JWKS_ALLOW_PRIVATE_NETWORKS=true" in message
    assert issuer.requests == 0


def _claims() -> dict:
    from .issuers import default_claims

    return default_claims()


# --- what to send: credentials, Content-Type (issue 30) --------------------------------------

BASIC_HINT = (
    "no HTTP Basic credentials: send your project id and an API secret as "
    "Authorization: Basic base64(project_id:secret) (curl -u 'project_id:secret'; the SDKs "
    "take project_id and secret); `manage.py trusted_auth secret create` makes a secret"
)


@pytest.mark.parametrize(
    "headers", [{}, {"HTTP_AUTHORIZATION": "Bearer session-token"}], ids=["none", "bearer"]
)
def test_a_request_without_basic_credentials_is_told_what_to_send(client, headers):
    response = client.post(
        "/v1/sessions/attest", {"profile_id": "x"}, content_type="application/json", **headers
    )
    body = response.json()
    assert (response.status_code, body["error_type"]) == (401, "unauthorized_credentials")
    assert body["error_message"] == BASIC_HINT
    assert response.headers["WWW-Authenticate"] == 'Basic realm="trusted_auth"'


def test_wrong_credentials_keep_their_own_message(client, api_secret):
    response = client.post(
        "/v1/sessions/attest",
        {"profile_id": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"project-test:wrong").decode(),
    )
    body = response.json()
    assert (response.status_code, body["error_type"]) == (401, "unauthorized_credentials")
    assert body["error_message"] == "unknown project_id or secret"


JSON_HINT = "send the body as JSON with the header Content-Type: application/json"


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        (
            "application/x-www-form-urlencoded",
            'Unsupported media type "application/x-www-form-urlencoded"',
        ),
        ("text/plain", 'Unsupported media type "text/plain"'),
        ("", "The body has no Content-Type"),
        ("x" * 200, f'Unsupported media type "{"x" * 100}…"'),
    ],
    ids=["form", "text", "none", "long"],
)
def test_a_body_that_is_not_json_is_a_415_that_says_to_send_json(
    api, pem_profile, token_factory, content_type, shown
):
    response = api.generic(
        "POST",
        "/v1/sessions/attest",
        f"profile_id={pem_profile.profile_id}&token={token_factory()}",
        content_type=content_type,
    )
    body = response.json()
    assert (response.status_code, body["error_type"]) == (415, "unsupported_media_type")
    assert body["error_message"] == f"{shown}: {JSON_HINT}"


def test_json_with_a_charset_is_still_json(api, pem_profile, token_factory):
    response = api.generic(
        "POST",
        "/v1/sessions/attest",
        json.dumps({"profile_id": pem_profile.profile_id, "token": token_factory()}),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 200, response.json()


# --- why: an audience that is not the profile's ---------------------------------------------


@pytest.mark.parametrize(
    ("aud", "shown"),
    [
        ("other-audience", "'other-audience'"),
        (["a", "b"], '["a", "b"]'),
        ("z" * 300, repr("z" * 200) + "…"),
        ([f"aud-{n}" for n in range(8)], '["aud-0", "aud-1", "aud-2", "aud-3", "aud-4", … 3 more]'),
    ],
    ids=["string", "list", "long", "many"],
)
def test_an_audience_mismatch_shows_the_expected_and_the_actual_values(
    api, admin_client, pem_profile, token_factory, aud, shown
):
    token = token_factory(aud=aud)
    expected = (
        f"token audience {shown} does not include the profile's {AUDIENCE!r}; set the profile's "
        "audience to the token's aud, or have the issuer mint tokens for the profile's audience"
    )
    body = _attest(api, pem_profile, token)
    assert (body["status_code"], body["error_type"]) == (401, "jwt_invalid_audience")
    assert body["error_message"] == expected
    assert expected in _profile_test(pem_profile, token)
    assert "does not include the profile" in _admin_test_page(admin_client, pem_profile, token)


def test_an_audience_that_differs_only_by_case_or_slash_says_so(
    api, profile_factory, signer, token_factory
):
    profile = profile_factory(pem_keys=[signer.public_pem], audience="https://api.example.com/")
    body = _attest(api, profile, token_factory(aud="https://API.example.com"))
    assert body["error_type"] == "jwt_invalid_audience"
    assert body["error_message"] == (
        "token audience 'https://API.example.com' does not include the profile's "
        "'https://api.example.com/'; they differ only by a trailing slash (the profile's "
        "audience has one, the token's aud does not) and letter case: audiences are compared "
        "exactly, so set the profile's audience to the token's aud"
    )


# --- --no-fetch is offered only where it helps ---------------------------------------------


def _create_jwks_profile_failing(url: str) -> str:
    with pytest.raises(CommandError) as raised:
        call_command(
            "trusted_auth",
            "profile",
            "create",
            "--name",
            "x",
            "--issuer",
            ISSUER,
            "--audience",
            "aud",
            "--jwks-url",
            url,
            "--map",
            "email=email",
            "token_id=jti",
            stdout=StringIO(),
        )
    return str(raised.value)


def test_a_private_jwks_host_is_not_offered_no_fetch(settings, issuer):
    """``--no-fetch`` still checks the URL (it would refuse the same host): not a way out."""
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_ALLOW_PRIVATE_NETWORKS": False}
    message = _create_jwks_profile_failing(issuer.url)
    assert "non-public address 127.0.0.1" in message
    assert "JWKS_ALLOW_PRIVATE_NETWORKS" in message
    assert "--no-fetch" not in message
    assert message.endswith("(nothing was created)")


def test_a_jwks_with_no_usable_key_is_not_offered_no_fetch(issuer):
    issuer.keys = []
    issuer.extra_keys = [{"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"}]
    message = _create_jwks_profile_failing(issuer.url)
    assert "no usable signing key" in message and "--no-fetch" not in message


def test_a_jwks_host_that_is_down_is_still_offered_no_fetch(issuer):
    issuer.down = True
    assert _create_jwks_profile_failing(issuer.url) == (
        "JWKS URL answered HTTP 503 (nothing was created; --no-fetch creates it without fetching)"
    )
