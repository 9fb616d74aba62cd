"""OIDC discovery against a discovery document served over TLS on loopback: the happy path, a
mismatched issuer, a redirect, an oversized document and a private address, through the
service, the CLI and then an attest with the profile it made."""

from __future__ import annotations

import json
import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trusted_auth.errors import InvalidJwksUrl, InvalidProfile, JwksUnavailable
from trusted_auth.issuers.discovery import MAX_DISCOVERY_BYTES, discover_issuer, discovery_url
from trusted_auth.models import TrustedAuthTokenProfile

from .issuers import default_claims
from .scripted_server import send_body
from .test_attest_rejections import post_attest

pytestmark = pytest.mark.django_db

WELL_KNOWN = "/realms/acme/.well-known/openid-configuration"


def base_url(server) -> str:
    return f"https://127.0.0.1:{server.httpd.server_address[1]}"


def serve_document(scripted_server, document: Any = None, **kwargs: Any):
    """A discovery server; ``document(issuer)`` gives the JSON served at the well-known path."""

    def respond(server, handler) -> None:
        if handler.path != WELL_KNOWN:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        issuer = base_url(server) + "/realms/acme"
        body = document(issuer) if callable(document) else document
        send_body(handler, body if isinstance(body, bytes) else json.dumps(body).encode(), **kwargs)

    server = scripted_server(respond)
    return server, base_url(server) + "/realms/acme"


def keycloak_document(jwks_url: str) -> Any:
    return lambda issuer: {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/protocol/openid-connect/auth",
        "token_endpoint": f"{issuer}/protocol/openid-connect/token",
        "jwks_uri": jwks_url,
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["PS384", "RS256", "HS256", "ES256", "EdDSA"],
        "claims_supported": ["aud", "sub", "iss", "name", "email", "email_verified"],
    }


def test_discovery_reads_the_document_and_keeps_our_algorithms(scripted_server, issuer):
    server, issuer_url = serve_document(scripted_server, keycloak_document(issuer.url))

    found = discover_issuer(issuer_url)

    assert server.requests == [WELL_KNOWN]
    assert found.issuer == issuer_url and found.jwks_url == issuer.url
    assert found.document_url == issuer_url + "/.well-known/openid-configuration"
    assert found.algorithms == ["RS256", "PS384", "ES256", "EdDSA"]  # HS256 is not ours
    assert found.ignored_algorithms == ["HS256"]
    assert found.suggested_mapping() == {
        "email": "email",
        "token_id": "jti",
        "external_user_id": "sub",
        "name": "name",
    }
    assert "ignored, not supported here: HS256" in found.summary()


def test_the_well_known_path_drops_the_issuers_trailing_slash():
    assert discovery_url("https://acme.eu.auth0.com/") == (
        "https://acme.eu.auth0.com/.well-known/openid-configuration"
    )
    assert discovery_url("https://sso.example.com/realms/acme") == (
        "https://sso.example.com/realms/acme/.well-known/openid-configuration"
    )


def test_a_document_naming_another_issuer_is_refused(scripted_server, issuer):
    def with_slash(issuer_url: str) -> Any:
        return {**keycloak_document(issuer.url)(issuer_url), "issuer": issuer_url + "/"}

    _, issuer_url = serve_document(scripted_server, with_slash)
    with pytest.raises(InvalidProfile) as raised:
        discover_issuer(issuer_url)
    assert raised.value.field == "issuer"
    assert f"names issuer '{issuer_url}/', not '{issuer_url}'" in raised.value.message
    assert "differ only by a trailing slash" in raised.value.message

    _, other_url = serve_document(
        scripted_server,
        lambda i: {**keycloak_document(issuer.url)(i), "issuer": "https://evil.example"},
    )
    with pytest.raises(InvalidProfile, match="names issuer 'https://evil.example'"):
        discover_issuer(other_url)


def test_a_redirect_is_not_followed(scripted_server):
    def respond(server, handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "https://127.0.0.1:1/elsewhere")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = scripted_server(respond)
    with pytest.raises(JwksUnavailable) as raised:
        discover_issuer(base_url(server) + "/realms/acme")
    assert raised.value.message == (
        "OIDC discovery URL answered with a redirect; redirects are not followed"
    )
    assert server.requests == [WELL_KNOWN]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_an_oversized_document_is_refused(scripted_server, issuer, declared):
    def huge(issuer_url: str) -> bytes:
        document = keycloak_document(issuer.url)(issuer_url)
        document["padding"] = "x" * MAX_DISCOVERY_BYTES
        return json.dumps(document).encode()

    _, issuer_url = serve_document(scripted_server, huge, length=declared)
    with pytest.raises(JwksUnavailable) as raised:
        discover_issuer(issuer_url)
    assert raised.value.message == (
        f"OIDC discovery response is larger than {MAX_DISCOVERY_BYTES} bytes"
    )


def test_a_private_address_is_refused_unless_allowed(scripted_server, issuer, settings):
    server, issuer_url = serve_document(scripted_server, keycloak_document(issuer.url))
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_ALLOW_PRIVATE_NETWORKS": False}
    with pytest.raises(InvalidJwksUrl) as raised:
        discover_issuer(issuer_url)
    assert "OIDC discovery host '127.0.0.1' resolves to non-public address 127.0.0.1" in (
        raised.value.message
    )
    assert server.requests == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"jwks_uri": None}, "jwks_url", "names no jwks_uri"),
        ({"jwks_uri": "http://127.0.0.1/jwks"}, "jwks_url", "JWKS URL must use https"),
        (
            {"id_token_signing_alg_values_supported": ["HS256", "none"]},
            "algorithms",
            "lists only HS256, none; none is one we verify",
        ),
    ],
)
def test_a_document_we_cannot_use_says_why(scripted_server, issuer, change, field, message):
    def changed(issuer_url: str) -> Any:
        document = keycloak_document(issuer.url)(issuer_url)
        document.update(change)
        return {k: v for k, v in document.items() if v is not None}

    _, issuer_url = serve_document(scripted_server, changed)
    with pytest.raises(InvalidProfile) as raised:
        discover_issuer(issuer_url)
    assert raised.value.field == field
    assert message in raised.value.message


def test_a_document_without_algorithms_means_rs256(scripted_server, issuer):
    def bare(issuer_url: str) -> Any:
        return {"issuer": issuer_url, "jwks_uri": issuer.url}

    _, issuer_url = serve_document(scripted_server, bare)
    assert discover_issuer(issuer_url).algorithms == ["RS256"]


def test_not_json_is_a_clear_error(scripted_server):
    _, issuer_url = serve_document(scripted_server, b"<html>login</html>")
    with pytest.raises(JwksUnavailable, match="is not JSON"):
        discover_issuer(issuer_url)


# --- the command line, then an attest ----------------------------------------------------------


def run(*args: str) -> tuple[Any, str]:
    out, err = StringIO(), StringIO()
    call_command("trusted_auth", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_profile_create_discover_makes_a_profile_that_attests(scripted_server, issuer, api):
    _, issuer_url = serve_document(scripted_server, keycloak_document(issuer.url))

    data, notes = run(
        "profile", "create", "--discover", issuer_url, "--audience", "my-app", "--jit"
    )

    assert (data["issuer"], data["jwks_url"]) == (issuer_url, issuer.url)
    assert data["algorithms"] == ["RS256", "PS384", "ES256", "EdDSA"]
    assert data["attribute_mapping"]["external_user_id"] == "sub"
    assert data["name"] == issuer_url.split("://", 1)[1]
    assert f"Discovered: {issuer_url}/.well-known/openid-configuration names issuer" in notes
    now = int(time.time())
    token = issuer.signer.sign(default_claims(iss=issuer_url, aud="my-app", iat=now))
    response = post_attest(api, data["profile_id"], token, session_duration_minutes=5)
    assert response.status_code == 200, response.json()


def test_profile_create_discover_refuses_a_mismatched_issuer(scripted_server, issuer):
    _, issuer_url = serve_document(
        scripted_server,
        lambda i: {**keycloak_document(issuer.url)(i), "issuer": i.upper()},
    )
    with pytest.raises(CommandError, match="differ only by case"):
        run("profile", "create", "--discover", issuer_url, "--audience", "my-app")
    assert not TrustedAuthTokenProfile.objects.exists()
    assert issuer.requests == 0
