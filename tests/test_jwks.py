"""Fetching and caching an issuer's JWKS (DESIGN.md §4), over real TLS on loopback.

The ``issuer`` fixture is a real https JWKS endpoint on 127.0.0.1; the hostile endpoints
(redirects, slow or oversized bodies) are small TLS servers started here with the same test CA.
Nothing here sends traffic anywhere but loopback: the address rules are checked before any
connection, and the addresses in ``is_public_address`` tests are never contacted.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jwt.algorithms import RSAAlgorithm

from trusted_auth.errors import TokenRejected, TrustedAuthError
from trusted_auth.internal.netguard import is_public_address
from trusted_auth.issuers import jwks_http
from trusted_auth.issuers.issuer_keys import forget_remembered_failure
from trusted_auth.issuers.jwks_http import fetch_jwks, parse_jwks
from trusted_auth.issuers.verification import verify_external_token
from trusted_auth.models import AuditEvent, Session

from .issuers import JwksIssuer, SigningPair, default_claims
from .scripted_server import drip, send_body

ATTEST_URL = "/v1/sessions/attest"
UNAVAILABLE = "jwks_unavailable"
INVALID_URL = "invalid_jwks_url"
REJECTED = "invalid_trusted_auth_token"


def configure(settings, **values: Any) -> None:
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, **values}


def rejection(profile, token: str) -> TrustedAuthError:
    """The domain error ``verify_external_token`` raises for ``token``."""
    with pytest.raises(TrustedAuthError) as info:
        verify_external_token(profile, token)
    return info.value


def fetch_error(url: str) -> TrustedAuthError:
    with pytest.raises(TrustedAuthError) as info:
        fetch_jwks(url)
    return info.value


@pytest.fixture(scope="module")
def module_issuer(server_ssl_context) -> Iterator[JwksIssuer]:
    jwks_issuer = JwksIssuer(keys=[SigningPair.rsa()])
    jwks_issuer.start(server_ssl_context)
    yield jwks_issuer
    jwks_issuer.stop()


@pytest.fixture
def issuer(module_issuer) -> JwksIssuer:
    """The conftest ``issuer``, served once for this module and reset for each test.

    Stopping a ``JwksIssuer`` waits out its server's half-second poll; once per test, that was
    most of this module's run time. Every fetch here is synchronous, so no request of one test
    can be counted in the next.
    """
    module_issuer.keys = [SigningPair.rsa()]
    module_issuer.down = False
    module_issuer.extra_keys = []
    module_issuer.requests = 0
    return module_issuer


@pytest.fixture
def jwks_profile(issuer, profile_factory):
    return profile_factory(jwks_url=issuer.url, can_jit_provision=True)


# --- accepted keys, rotation, the refetch cooldown ---------------------------------------------


def test_token_signed_by_the_issuers_key_is_accepted(issuer, jwks_profile):
    verified = verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    assert verified.attributes["email"] == "ada@example.com"
    assert verified.header["kid"] == issuer.signer.kid
    assert issuer.requests == 1


def test_the_fetched_set_is_cached_for_every_later_token(issuer, jwks_profile):
    for _ in range(5):
        verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == 1


def test_cold_start_from_many_threads_fetches_once(issuer, jwks_profile):
    tokens = [issuer.signer.sign(default_claims()) for _ in range(8)]
    barrier = threading.Barrier(len(tokens))
    outcomes: list[Any] = [None] * len(tokens)

    def attest(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = verify_external_token(jwks_profile, tokens[index]).header["kid"]
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            outcomes[index] = e

    threads = [threading.Thread(target=attest, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcomes == [issuer.signer.kid] * len(tokens)
    assert issuer.requests == 1


def test_rotated_key_is_accepted_after_exactly_one_refetch(issuer, jwks_profile):
    old = issuer.signer
    verify_external_token(jwks_profile, old.sign(default_claims()))
    assert issuer.requests == 1

    new = issuer.rotate()
    verified = verify_external_token(jwks_profile, new.sign(default_claims()))
    assert verified.header["kid"] == new.kid != old.kid
    assert issuer.requests == 2
    # The refetched set is cached: more tokens with the new key fetch nothing.
    verify_external_token(jwks_profile, new.sign(default_claims()))
    assert issuer.requests == 2
    # The old key is gone from the issuer's set, and so from ours.
    error = rejection(jwks_profile, old.sign(default_claims()))
    assert error.error_type == REJECTED and "no key with kid" in error.message
    assert issuer.requests == 2  # within the cooldown: no refetch for the old kid


def test_unknown_kid_storm_refetches_at_most_once(issuer, jwks_profile):
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    before = issuer.requests
    attacker = SigningPair.ec()  # ES256 signs fast; the profile allows RS256 and ES256
    tokens = [
        attacker.sign(default_claims(), headers={"kid": f"kid-{uuid.uuid4().hex}"})
        for _ in range(1000)
    ]
    error_types = set()
    for token in tokens:
        error = rejection(jwks_profile, token)
        assert "no key with kid" in error.message, error.message
        error_types.add(error.error_type)
    assert error_types == {REJECTED}
    assert issuer.requests - before <= 1
    # The issuer's own tokens still verify from the cached set, without a fetch.
    after_storm = issuer.requests
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == after_storm


def test_refetch_is_allowed_again_once_the_cooldown_elapsed(clock, issuer, jwks_profile, settings):
    configure(settings, JWKS_REFETCH_COOLDOWN_SECONDS=1)
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == 1

    def unknown_kid() -> str:
        return issuer.signer.sign(default_claims(), headers={"kid": f"kid-{uuid.uuid4().hex}"})

    assert rejection(jwks_profile, unknown_kid()).error_type == REJECTED
    assert issuer.requests == 2  # the first unknown kid refetches
    for _ in range(20):
        assert rejection(jwks_profile, unknown_kid()).error_type == REJECTED
    assert issuer.requests == 2  # the rest wait for the cooldown
    clock.advance(1.2)
    assert rejection(jwks_profile, unknown_kid()).error_type == REJECTED
    assert issuer.requests == 3  # one more refetch once it elapsed
    assert rejection(jwks_profile, unknown_kid()).error_type == REJECTED
    assert issuer.requests == 3


def test_a_new_key_is_picked_up_when_the_cache_is_no_longer_fresh(
    clock, issuer, jwks_profile, settings
):
    configure(settings, JWKS_CACHE_SECONDS=1)
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    issuer.rotate(keep_old=True)
    clock.advance(1.2)
    verify_external_token(jwks_profile, issuer.keys[0].sign(default_claims()))
    assert issuer.requests == 2  # a stale set is refreshed even for a known kid


# --- issuer outages ----------------------------------------------------------------------------


def test_cached_keys_keep_working_while_the_issuer_is_down(clock, issuer, jwks_profile, settings):
    configure(settings, JWKS_CACHE_SECONDS=1)
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    issuer.down = True
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == 1  # fresh: not even asked

    clock.advance(1.2)  # no longer fresh: the refetch fails and the last good set is served
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == 2
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == 2  # failed refetches are rate limited by the cooldown too

    issuer.down = False
    new = issuer.rotate()
    error = rejection(jwks_profile, new.sign(default_claims()))
    assert error.error_type == REJECTED  # still within the cooldown: the new kid is unknown
    assert issuer.requests == 2


def test_stale_keys_are_served_for_a_bounded_time(clock, issuer, jwks_profile, settings):
    configure(
        settings,
        JWKS_CACHE_SECONDS=1,
        JWKS_STALE_IF_ERROR_SECONDS=1,
        JWKS_REFETCH_COOLDOWN_SECONDS=1,
    )
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    issuer.down = True
    clock.advance(2.2)
    error = rejection(jwks_profile, issuer.signer.sign(default_claims()))
    assert (error.error_type, error.status_code) == (UNAVAILABLE, 503)
    assert issuer.requests == 2


def test_issuer_down_with_nothing_cached_is_jwks_unavailable(issuer, jwks_profile):
    issuer.down = True
    error = rejection(jwks_profile, issuer.signer.sign(default_claims()))
    assert (error.error_type, error.status_code) == (UNAVAILABLE, 503)
    assert "HTTP 503" in error.message
    assert issuer.requests == 1


def test_issuer_down_through_the_api_is_a_503_with_an_audit_event(issuer, jwks_profile, api):
    issuer.down = True
    token = issuer.signer.sign(default_claims(jti="jti-during-outage"))
    response = api.post(
        ATTEST_URL,
        {"profile_id": jwks_profile.profile_id, "token": token, "session_duration_minutes": 60},
        format="json",
    )
    body = response.json()
    assert response.status_code == 503, body
    assert body["status_code"] == 503 and body["error_type"] == UNAVAILABLE
    assert body["request_id"].startswith("request-id-")
    assert Session.objects.count() == 0
    [event] = AuditEvent.objects.all()
    assert (event.outcome, event.error_type) == ("failure", UNAVAILABLE)
    assert event.profile_id == jwks_profile.pk and event.session_id == ""
    assert token not in event.error_message

    # The failure is remembered for the cooldown: the next attest answers at once, without
    # asking the issuer again, even though it is back.
    issuer.down = False
    response = api.post(
        ATTEST_URL,
        {"profile_id": jwks_profile.profile_id, "token": token, "session_duration_minutes": 60},
        format="json",
    )
    assert response.status_code == 503 and response["Retry-After"].isdigit()
    assert issuer.requests == 1

    # The same token works once the cooldown is over: an outage does not use it up.
    forget_remembered_failure(jwks_profile)
    response = api.post(
        ATTEST_URL,
        {"profile_id": jwks_profile.profile_id, "token": token, "session_duration_minutes": 60},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert Session.objects.count() == 1


# --- where we fetch from -----------------------------------------------------------------------


def test_http_url_is_refused(issuer, profile_factory):
    profile = profile_factory(jwks_url=issuer.url.replace("https://", "http://"))
    error = rejection(profile, issuer.signer.sign(default_claims()))
    assert (error.error_type, error.status_code) == (INVALID_URL, 400)
    assert issuer.requests == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://user:password@127.0.0.1/jwks.json",
        "https:///jwks.json",
        "https://127.0.0.1:99999/jwks.json",
        "ftp://127.0.0.1/jwks.json",
        "file:///etc/passwd",
    ],
)
def test_urls_we_never_fetch(url):
    assert fetch_error(url).error_type == INVALID_URL


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"])
def test_private_network_hosts_are_refused_before_connecting(
    issuer, profile_factory, settings, host
):
    configure(settings, JWKS_ALLOW_PRIVATE_NETWORKS=False)
    profile = profile_factory(jwks_url=issuer.url.replace("127.0.0.1", host))
    error = rejection(profile, issuer.signer.sign(default_claims()))
    assert (error.error_type, error.status_code) == (INVALID_URL, 400)
    assert "non-public address" in error.message
    assert issuer.requests == 0


def test_the_connected_peer_is_checked_too(issuer, settings, monkeypatch):
    """DNS rebinding: the name looks public when checked, then connects to loopback."""
    url = issuer.url.replace("127.0.0.1", "localhost")
    real_getaddrinfo = socket.getaddrinfo

    def public_answer(host, port, *args, **kwargs):
        assert host == "localhost"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("8.8.8.8", port))]

    class CheckTimeSocket:
        """What ``validate_jwks_url`` sees; the connection itself resolves for real."""

        IPPROTO_TCP = socket.IPPROTO_TCP
        getaddrinfo = staticmethod(public_answer)

    monkeypatch.setattr(jwks_http, "socket", CheckTimeSocket)
    assert socket.getaddrinfo is real_getaddrinfo

    configure(settings, JWKS_ALLOW_PRIVATE_NETWORKS=False)
    jwks_http.validate_jwks_url(url)  # the lie passes the DNS check
    error = fetch_error(url)
    assert error.error_type == UNAVAILABLE
    assert "refusing to connect to non-public address 127.0.0.1" in str(error.__cause__)
    assert issuer.requests == 0

    configure(settings, JWKS_ALLOW_PRIVATE_NETWORKS=True)
    assert [k["kid"] for k in fetch_jwks(url).keys] == [issuer.signer.kid]  # reachable otherwise
    assert issuer.requests == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(issuer, profile_factory, scripted_server, status):
    def redirect(server, handler):
        handler.send_response(status)
        handler.send_header("Location", issuer.url)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    redirector = scripted_server(redirect)
    profile = profile_factory(jwks_url=redirector.url)
    error = rejection(profile, issuer.signer.sign(default_claims()))
    assert (error.error_type, error.status_code) == (UNAVAILABLE, 503)
    assert "redirect" in error.message
    assert redirector.requests == ["/jwks.json"]
    assert issuer.requests == 0


@pytest.mark.parametrize("status", [404, 500])
def test_non_200_answers_are_unavailable(issuer, scripted_server, status):
    body = json.dumps(issuer.document()).encode()  # would parse, under the wrong status

    def failing(server, handler):
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    error = fetch_error(scripted_server(failing).url)
    assert error.error_type == UNAVAILABLE and f"HTTP {status}" in error.message


def test_a_truncated_body_is_unavailable(issuer, scripted_server):
    body = json.dumps(issuer.document()).encode()

    def truncated(server, handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[:20])  # then the handler returns and the connection closes

    error = fetch_error(scripted_server(truncated).url)
    assert error.error_type == UNAVAILABLE and "fetch failed" in error.message


# --- what we accept from the issuer ------------------------------------------------------------


def test_body_over_the_byte_cap_is_refused(issuer, jwks_profile, settings):
    size = len(json.dumps(issuer.document()).encode())
    configure(settings, JWKS_MAX_BYTES=size - 1)
    error = rejection(jwks_profile, issuer.signer.sign(default_claims()))
    assert (error.error_type, error.status_code) == (UNAVAILABLE, 503)
    assert "larger than" in error.message

    configure(settings, JWKS_MAX_BYTES=size)  # exactly at the cap is fine
    forget_remembered_failure(jwks_profile)
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_body_over_the_byte_cap_without_a_length_is_refused(
    issuer, scripted_server, settings, encoding
):
    # Spaces after a valid document: the body parses if read whole, so only the cap refuses it.
    document = json.dumps(issuer.document()).encode() + b" " * 2_000_000

    def undeclared(server, handler):
        if encoding == "gzip":
            send_body(
                handler, gzip.compress(document), length=False, headers={"Content-Encoding": "gzip"}
            )
        else:
            send_body(handler, document, length=False)

    server = scripted_server(undeclared)
    error = fetch_error(server.url)
    assert error.error_type == UNAVAILABLE and "larger than" in error.message

    configure(settings, JWKS_MAX_BYTES=len(document))
    assert [k["kid"] for k in fetch_jwks(server.url).keys] == [issuer.signer.kid]


def test_more_keys_than_the_cap_is_refused(issuer, jwks_profile, settings):
    configure(settings, JWKS_MAX_KEYS=3)
    issuer.extra_keys = [SigningPair.ec().public_jwk for _ in range(3)]
    error = rejection(jwks_profile, issuer.signer.sign(default_claims()))
    assert (error.error_type, error.status_code) == (UNAVAILABLE, 503)
    assert "more than 3" in error.message

    issuer.extra_keys.pop()  # exactly at the cap is fine
    forget_remembered_failure(jwks_profile)
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))


def test_dropped_keys_count_towards_the_key_cap():
    document = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": str(i)} for i in range(101)]}
    with pytest.raises(TrustedAuthError) as info:
        parse_jwks(json.dumps(document).encode())
    assert info.value.error_type == UNAVAILABLE


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"keys": {}}', b'{"nokeys": []}', b"[" * 100_000]
)
def test_documents_that_are_not_a_jwks_are_unavailable(body):
    with pytest.raises(TrustedAuthError) as info:
        parse_jwks(body)
    assert info.value.error_type == UNAVAILABLE


@pytest.mark.parametrize("slow_part", ["body", "headers"])
def test_a_slow_server_cannot_hold_the_fetch_past_its_deadline(
    issuer, scripted_server, settings, slow_part
):
    configure(settings, JWKS_TOTAL_TIMEOUT_SECONDS=1.0)
    # A valid document, so dripping it to the end would succeed: only the deadline refuses it.
    body = json.dumps(issuer.document()).encode()

    def slow(server, handler):
        if slow_part == "body":
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            drip(server, handler, body)
        else:
            head = (
                b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nX-Padding: %s\r\n\r\n" % (len(body), b"x" * 400)
            )
            drip(server, handler, head)
            handler.wfile.write(body)

    server = scripted_server(slow)
    started = time.monotonic()
    error = fetch_error(server.url)
    elapsed = time.monotonic() - started
    assert error.error_type == UNAVAILABLE
    assert elapsed < 4, f"the fetch took {elapsed:.1f} s with a 1 s deadline"


# --- which keys we keep ------------------------------------------------------------------------


def private_rsa_jwk(pair: SigningPair) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(pair.private_key))
    jwk.update({"kid": pair.kid, "alg": pair.alg, "use": "sig"})
    return jwk


UNUSABLE_KEYS: dict[str, Callable[[SigningPair], dict[str, Any]]] = {
    "private members": private_rsa_jwk,
    "kty oct": lambda pair: {
        "kty": "oct",
        "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ",
        "kid": pair.kid,
        "alg": "HS256",
    },
    "use enc": lambda pair: {**pair.public_jwk, "use": "enc"},
    "alg none": lambda pair: {**pair.public_jwk, "alg": "none"},
    "alg HS256": lambda pair: {**pair.public_jwk, "alg": "HS256"},
    "alg RSA-OAEP": lambda pair: {**pair.public_jwk, "alg": "RSA-OAEP"},
    "key_ops encrypt": lambda pair: {**pair.public_jwk, "key_ops": ["encrypt"]},
}


def test_parse_jwks_keeps_only_public_signing_keys():
    good = SigningPair.rsa()
    bad = {reason: make(SigningPair.rsa()) for reason, make in UNUSABLE_KEYS.items()}
    document = {"keys": [good.public_jwk, *bad.values(), "not an object", {"kty": "EC", "kid": 7}]}
    fetched = parse_jwks(json.dumps(document).encode())
    assert fetched.keys == [good.public_jwk]
    dropped = {entry["kid"]: entry["reason"] for entry in fetched.dropped}
    assert set(dropped) == {jwk["kid"] for jwk in bad.values()} | {"", "7"}
    assert "private" in dropped[bad["private members"]["kid"]]
    assert "kty" in dropped[bad["kty oct"]["kid"]]
    assert "use" in dropped[bad["use enc"]["kid"]]
    assert "alg" in dropped[bad["alg none"]["kid"]]
    assert "alg" in dropped[bad["alg HS256"]["kid"]]


@pytest.mark.parametrize("reason", sorted(UNUSABLE_KEYS))
def test_a_token_naming_a_dropped_key_is_rejected(issuer, jwks_profile, reason):
    # Each dropped key is the real public half of the key that signs the token: kept, it would
    # verify it.
    pair = SigningPair.rsa()
    issuer.extra_keys = [UNUSABLE_KEYS[reason](pair)]
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))  # set fetched

    error = rejection(jwks_profile, pair.sign(default_claims()))
    assert isinstance(error, TokenRejected)
    assert error.error_type == REJECTED and "no key with kid" in error.message


def test_the_same_key_published_for_signing_is_accepted(issuer, jwks_profile):
    """The control for the test above: the same key published correctly is accepted."""
    pair = SigningPair.rsa()
    issuer.extra_keys = [pair.public_jwk]
    verified = verify_external_token(jwks_profile, pair.sign(default_claims()))
    assert verified.header["kid"] == pair.kid


# --- which addresses are public ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("::7f00:1", False),  # IPv4-compatible (deprecated) 127.0.0.1
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
        ("not-an-address", False),
        ("", False),
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("2002:808:808::", True),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(address) is public
