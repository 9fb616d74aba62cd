"""``manage.py trusted_auth doctor`` against the real TLS server (issue 30): it passes exactly
when the official SDK's ``authenticate_jwt_local`` verifies our session JWTs, and otherwise
says which check failed and what to fix."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import requests
import stytch
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.gunicorn_server import free_port
from tests.scripted_server import send_body
from trusted_auth.sessions.secrets import create_secret


def run_doctor(*args: str) -> tuple[dict, str | None]:
    """(the JSON report, the error message or None)."""
    out = StringIO()
    try:
        call_command("trusted_auth", "doctor", *args, stdout=out, stderr=StringIO())
    except CommandError as e:
        return json.loads(out.getvalue()), str(e)
    return json.loads(out.getvalue()), None


def failed(report: dict) -> dict:
    *passed, last = report["checks"]
    assert all(check["passed"] for check in passed), report
    assert last["passed"] is False and report["passed"] is False, report
    return last


def test_a_deployment_the_sdk_verifies_passes(
    trust_test_ca, tls_live_server, sdk, pem_profile, token_factory, settings
):
    report, error = run_doctor()
    assert error is None, error
    assert report["passed"] is True
    assert [check["check"] for check in report["checks"]] == [
        "issuer",
        "base_url",
        "jwks_fetch",
        "session_jwt",
    ]
    assert all(check["passed"] for check in report["checks"])
    project_id = settings.TRUSTED_AUTH["PROJECT_ID"]
    assert report["jwks_url"] == f"{tls_live_server.url}/v1/sessions/jwks/{project_id}"
    # And the SDK agrees: a real session JWT verifies through authenticate_jwt_local.
    attested = sdk.sessions.attest(
        profile_id=pem_profile.profile_id, token=token_factory(), session_duration_minutes=5
    )
    assert sdk.sessions.authenticate_jwt_local(session_jwt=attested.session_jwt) is not None


def test_an_untrusted_certificate_is_named_with_the_environment_to_set(tls_live_server):
    report, error = run_doctor()
    check = failed(report)
    assert check["check"] == "jwks_fetch"
    assert check["detail"].startswith(f"TLS to 127.0.0.1:{tls_live_server.port} is not trusted")
    assert "SSL_CERT_FILE" in check["fix"] and "REQUESTS_CA_BUNDLE" in check["fix"]
    assert error == f"the jwks_fetch check fails: {check['detail']}. {check['fix']}"


def test_an_sdk_base_url_other_than_issuer_fails_as_the_sdk_would(
    trust_test_ca, tls_live_server, pem_profile, token_factory, settings
):
    other = f"https://localhost:{tls_live_server.port}/"  # same server, another name
    report, error = run_doctor("--base-url", other)
    check = failed(report)
    assert check["check"] == "base_url"
    assert check["detail"] == (
        f"an SDK with custom_base_url={other!r} accepts only session JWTs whose iss is "
        f"{other.rstrip('/')!r}, and ours carry ISSUER {tls_live_server.url!r}: "
        "authenticate_jwt_local returns None for every one"
    )
    assert f"custom_base_url={tls_live_server.url + '/'!r}" in check["fix"]
    assert error is not None

    # What the doctor predicts is what the SDK does: None, with no error.
    with requests.Session() as http:
        client = stytch.Client(
            settings.TRUSTED_AUTH["PROJECT_ID"],
            create_secret("doctor").clear_text,
            custom_base_url=other,
            sync_session=http,
        )
        attested = client.sessions.attest(
            profile_id=pem_profile.profile_id, token=token_factory(), session_duration_minutes=5
        )
        assert attested.session_jwt
        assert client.sessions.authenticate_jwt_local(session_jwt=attested.session_jwt) is None


def test_an_issuer_nothing_listens_on_is_not_reachable(trust_test_ca, settings, db):
    port = free_port()
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": f"https://127.0.0.1:{port}"}
    check = failed(run_doctor()[0])
    assert check["check"] == "jwks_fetch"
    assert check["detail"].startswith(f"127.0.0.1:{port} is not reachable from here")
    assert "Start the server" in check["fix"]


@pytest.mark.parametrize(
    "issuer", ["http://auth.example.com", "https://auth.example.com/"], ids=["http", "slash"]
)
def test_an_issuer_the_sdk_cannot_use_fails_first(settings, db, issuer):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": issuer}
    report, error = run_doctor()
    check = failed(report)
    assert (len(report["checks"]), check["check"]) == (1, "issuer")
    assert error is not None


def _serve(scripted_server, status: int, body: bytes = b""):
    def respond(server, handler):
        if status == 200:
            send_body(handler, body)
            return
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = scripted_server(respond)
    return server.url.removesuffix("/jwks.json")


def test_a_jwks_without_our_key_says_issuer_reaches_another_deployment(
    trust_test_ca, settings, scripted_server, db
):
    from tests.issuers import SigningPair

    other = json.dumps({"keys": [SigningPair.rsa().public_jwk]}).encode()
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": _serve(scripted_server, 200, other)}
    check = failed(run_doctor()[0])
    assert check["check"] == "session_jwt"
    assert "does not publish our signing key" in check["detail"]
    assert "another database or server" in check["fix"]


def test_a_404_says_where_to_mount_the_urls(trust_test_ca, settings, scripted_server, db):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": _serve(scripted_server, 404)}
    check = failed(run_doctor()[0])
    assert check["check"] == "jwks_fetch"
    assert check["detail"].endswith("answered HTTP 404")
    assert "path('', include('trusted_auth.urls'))" in check["fix"]
