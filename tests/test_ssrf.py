"""A profile's JWKS URL cannot be turned into a request to somewhere it should not go (SSRF).

Private networks are refused here as in production (``JWKS_ALLOW_PRIVATE_NETWORKS`` off), so
the address checks run before any connection: none of the addresses below is ever contacted.
Name resolution is the operating system's; names that must resolve to a given address go
through a resolver patched at that one seam (``jwks_http.socket.getaddrinfo``), as in
``tests/test_jwks.py``. Already covered there: ``http://``, ``file://``, credentials, loopback
literals, the connected-peer check against DNS rebinding, redirects to a loopback issuer, a
slow-drip server against the total deadline, and a 2 MB body.
"""

from __future__ import annotations

import json
import socket

import pytest

from trusted_auth.errors import TrustedAuthError
from trusted_auth.issuers import jwks_http
from trusted_auth.issuers.jwks_http import fetch_jwks
from trusted_auth.issuers.profiles import create_profile
from trusted_auth.models import AuditEvent, Session

from .issuers import AUDIENCE, ISSUER, SigningPair, default_claims
from .scripted_server import drip, send_body
from .test_attest_rejections import ENVELOPE_FIELDS, post_attest

INVALID_URL = "invalid_jwks_url"
UNAVAILABLE = "jwks_unavailable"

PRIVATE_LITERALS = [
    pytest.param("10.0.0.1", id="rfc1918-10"),
    pytest.param("172.16.5.4", id="rfc1918-172.16"),
    pytest.param("172.31.255.254", id="rfc1918-172.31"),
    pytest.param("192.168.1.1", id="rfc1918-192.168"),
    pytest.param("169.254.169.254", id="link-local-cloud-metadata"),
    pytest.param("100.64.0.1", id="shared-100.64"),
    pytest.param("100.127.255.254", id="shared-100.127"),
    pytest.param("0.0.0.0", id="unspecified"),
    pytest.param("127.0.0.2", id="loopback-not-127.0.0.1"),
    pytest.param("2130706433", id="loopback-as-decimal"),
    pytest.param("0177.0.0.1", id="loopback-as-octal"),
    pytest.param("0x7f.1", id="loopback-as-hex-short"),
    pytest.param("127.1", id="loopback-short-form"),
    pytest.param("[::ffff:10.0.0.1]", id="ipv4-mapped-rfc1918"),
    pytest.param("[::ffff:169.254.169.254]", id="ipv4-mapped-metadata"),
    pytest.param("[::ffff:a9fe:a9fe]", id="ipv4-mapped-metadata-hex"),
    pytest.param("[64:ff9b::a9fe:a9fe]", id="nat64-metadata"),
    pytest.param("[64:ff9b::7f00:1]", id="nat64-loopback"),
    pytest.param("[64:ff9b:1::a00:1]", id="nat64-local-use-rfc1918"),
    pytest.param("[2002:a9fe:a9fe::1]", id="6to4-metadata"),
    pytest.param("[2002:c0a8:101::1]", id="6to4-rfc1918"),
    pytest.param("[::7f00:1]", id="ipv4-compatible-loopback"),
    pytest.param("[fe80::1]", id="ipv6-link-local"),
    pytest.param("[fd00:ec2::254]", id="ipv6-unique-local-aws-metadata"),
    pytest.param("[::]", id="ipv6-unspecified"),
]


@pytest.fixture(autouse=True)
def _production_address_rules(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_ALLOW_PRIVATE_NETWORKS": False}


def fetch_error(url: str) -> TrustedAuthError:
    with pytest.raises(TrustedAuthError) as info:
        fetch_jwks(url)
    return info.value


@pytest.mark.parametrize("host", PRIVATE_LITERALS)
def test_private_address_literals_are_refused(host):
    error = fetch_error(f"https://{host}/.well-known/jwks.json")
    assert (error.error_type, error.status_code) == (INVALID_URL, 400)
    assert "non-public address" in error.message


@pytest.mark.parametrize("host", PRIVATE_LITERALS[:6])
def test_a_profile_cannot_be_created_with_one(db, host):
    with pytest.raises(TrustedAuthError) as info:
        create_profile(
            name="ssrf",
            issuer=ISSUER,
            audience=AUDIENCE,
            attribute_mapping={"email": "email", "token_id": "jti"},
            jwks_url=f"https://{host}/jwks.json",
        )
    assert info.value.error_type == INVALID_URL


@pytest.fixture
def resolver(monkeypatch) -> dict[str, list[str]]:
    """``{name: [addresses]}`` answered by the resolver the JWKS URL check uses."""
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, port),
            )
            for a in answers[host]
        ]

    class PatchedSocket:
        IPPROTO_TCP = socket.IPPROTO_TCP
        gaierror = socket.gaierror

    PatchedSocket.getaddrinfo = staticmethod(getaddrinfo)
    monkeypatch.setattr(jwks_http, "socket", PatchedSocket)
    return answers


@pytest.mark.parametrize(
    "addresses",
    [
        pytest.param(["10.1.2.3"], id="rfc1918"),
        pytest.param(["169.254.169.254"], id="metadata"),
        pytest.param(["100.64.1.1"], id="shared"),
        pytest.param(["127.0.0.1"], id="loopback"),
        pytest.param(["::1"], id="ipv6-loopback"),
        pytest.param(["::ffff:192.168.0.1"], id="ipv4-mapped"),
        pytest.param(["64:ff9b::a00:1"], id="nat64"),
        pytest.param(["2002:a00:1::"], id="6to4"),
        pytest.param(["8.8.8.8", "10.0.0.1"], id="one-public-one-private"),
        pytest.param(["2001:4860:4860::8888", "fe80::1"], id="ipv6-public-and-link-local"),
    ],
)
def test_names_resolving_to_private_addresses_are_refused(resolver, addresses):
    resolver["jwks.attacker.test"] = addresses
    error = fetch_error("https://jwks.attacker.test/.well-known/jwks.json")
    assert (error.error_type, error.status_code) == (INVALID_URL, 400)
    assert "non-public address" in error.message


def test_a_name_that_does_not_resolve_is_unavailable(resolver):
    error = fetch_error("https://nowhere.attacker.test/jwks.json")
    assert error.error_type == UNAVAILABLE and "does not resolve" in error.message


def test_through_the_api_a_private_jwks_url_is_a_400_with_an_audit_event(
    api, profile_factory, resolver
):
    resolver["metadata.attacker.test"] = ["169.254.169.254"]
    # Saved directly: the profile service would refuse it (test above); the database may hold
    # one saved before the rules, or a name whose DNS answer changed since.
    profile = profile_factory(jwks_url="https://metadata.attacker.test/latest/meta-data")
    response = post_attest(
        api,
        profile.profile_id,
        SigningPair.rsa().sign(default_claims()),
        session_duration_minutes=60,
    )
    body = response.json()
    assert response.status_code == 400, body
    assert ENVELOPE_FIELDS <= body.keys() and body["error_type"] == INVALID_URL
    assert Session.objects.count() == 0
    event = AuditEvent.objects.get()
    assert (event.outcome, event.error_type) == ("failure", INVALID_URL)


# --- hostile answers from an allowed host ------------------------------------------------------
# The servers below run on loopback, so these tests allow private networks again: what they
# show is what happens after the connection, not whether it was allowed.


@pytest.fixture
def hostile(scripted_server, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_ALLOW_PRIVATE_NETWORKS": True}
    return scripted_server


@pytest.mark.parametrize(
    "location",
    [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://10.0.0.1/jwks.json",
        "https://[::ffff:127.0.0.1]/jwks.json",
        "http://127.0.0.1/jwks.json",
        "file:///etc/passwd",
    ],
)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_a_private_address_is_not_followed(hostile, location, status):
    def redirect(server, handler):
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = hostile(redirect)
    error = fetch_error(server.url)
    assert (error.error_type, error.status_code) == (UNAVAILABLE, 503)
    assert "redirect" in error.message
    assert server.requests == ["/jwks.json"]


TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize("declared", [True, False], ids=["declared-length", "no-length"])
def test_a_10MB_body_is_refused_at_the_cap(hostile, declared):
    body = b'{"keys": []' + b" " * TEN_MB + b"}"  # valid JSON if read whole

    def huge(server, handler):
        send_body(handler, body, length=declared)

    error = fetch_error(hostile(huge).url)
    assert error.error_type == UNAVAILABLE and "larger than 262144 bytes" in error.message


def test_a_slow_drip_through_the_api_ends_at_the_deadline(api, hostile, profile_factory, settings):
    """A JWKS dripped a byte every 50 ms would take minutes; the attest answers 503 once the
    1 s total deadline passes, and the server never finished sending."""
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_TOTAL_TIMEOUT_SECONDS": 1.0}
    pair = SigningPair.rsa()
    document = json.dumps({"keys": [pair.public_jwk]}).encode()
    sent = []

    def slow(server, handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(document)))
        handler.end_headers()
        drip(server, handler, document)
        sent.append("all")

    server = hostile(slow)
    profile = profile_factory(jwks_url=server.url, can_jit_provision=True)
    response = post_attest(
        api, profile.profile_id, pair.sign(default_claims()), session_duration_minutes=60
    )
    body = response.json()
    assert response.status_code == 503, body
    assert body["error_type"] == UNAVAILABLE and "deadline" in body["error_message"]
    assert Session.objects.count() == 0
    assert sent == []
