"""Two bounds of the JWKS fetch (issue 26 item 10): a worker releases only its own fetch lock,
and name resolution counts against the fetch's total deadline.

The lock test runs against a real TLS JWKS endpoint on loopback; the resolver is replaced at its
one seam (``jwks_http.resolve``) by one that does not answer, as a stalled DNS server does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from django.core.cache import caches

from trusted_auth.errors import InvalidJwksUrl, JwksUnavailable
from trusted_auth.issuers import jwks_http
from trusted_auth.issuers.profiles import create_profile
from trusted_auth.models import AuditEvent

from .issuers import AUDIENCE, ISSUER, SigningPair, default_claims
from .scripted_server import send_body
from .test_attest_rejections import post_attest

SLOW_JWKS_URL = "https://jwks.slow-dns.test/.well-known/jwks.json"


def configure(settings, **values) -> None:
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, **values}


def lock_key(profile) -> str:
    return f"trusted_auth:jwks-fetching:{profile.profile_id}"


def test_a_fetch_releases_its_own_lock(api, profile_factory, scripted_server):
    signer = SigningPair.rsa()

    def respond(server, handler):
        send_body(handler, json.dumps({"keys": [signer.public_jwk]}).encode())

    profile = profile_factory(jwks_url=scripted_server(respond).url, can_jit_provision=True)
    response = post_attest(api, profile.profile_id, signer.sign(default_claims()))
    assert response.status_code == 200, response.json()
    assert caches["default"].get(lock_key(profile)) is None


def test_a_fetch_that_outlived_its_lock_leaves_the_next_holders_lock(
    api, profile_factory, scripted_server
):
    """The lock expired while the issuer answered and another worker took it: the first fetch
    ending must not delete the second worker's lock (a third would then fetch as well)."""
    signer = SigningPair.rsa()
    holder: dict[str, str] = {}

    def respond(server, handler):
        # What the cache holds when the lock's TTL ran out and another worker added its own.
        caches["default"].set(holder["key"], "the-other-workers-token", timeout=60)
        send_body(handler, json.dumps({"keys": [signer.public_jwk]}).encode())

    profile = profile_factory(jwks_url=scripted_server(respond).url, can_jit_provision=True)
    holder["key"] = lock_key(profile)
    response = post_attest(api, profile.profile_id, signer.sign(default_claims()))
    assert response.status_code == 200, response.json()
    assert caches["default"].get(lock_key(profile)) == "the-other-workers-token"


@pytest.fixture
def stalled_resolver(monkeypatch) -> Iterator[list[str]]:
    """A resolver that does not answer for 60 s (released when the test ends); lists the names
    it was asked."""
    asked: list[str] = []
    released = threading.Event()

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        released.wait(60)
        raise OSError("the resolver gave up")

    monkeypatch.setattr(jwks_http, "resolve", resolve)
    yield asked
    released.set()


def test_name_resolution_counts_against_the_total_deadline(
    api, profile_factory, settings, stalled_resolver
):
    configure(settings, JWKS_ALLOW_PRIVATE_NETWORKS=False, JWKS_TOTAL_TIMEOUT_SECONDS=1.0)
    profile = profile_factory(jwks_url=SLOW_JWKS_URL)
    started = time.monotonic()
    response = post_attest(api, profile.profile_id, SigningPair.rsa().sign(default_claims()))
    waited = time.monotonic() - started
    body = response.json()
    assert (response.status_code, body["error_type"]) == (503, "jwks_unavailable"), body
    assert "deadline" in body["error_message"]
    assert stalled_resolver == ["jwks.slow-dns.test"]
    # The 1-second deadline, not the resolver's 60 s, decided when the attest was answered.
    assert waited < 10, waited
    assert AuditEvent.objects.get().error_type == "jwks_unavailable"
    assert caches["default"].get(lock_key(profile)) is None


def test_a_refresh_and_a_profile_check_are_bounded_too(db, settings, stalled_resolver):
    configure(settings, JWKS_ALLOW_PRIVATE_NETWORKS=False, JWKS_TOTAL_TIMEOUT_SECONDS=0.5)
    started = time.monotonic()
    with pytest.raises(InvalidJwksUrl, match="deadline"):
        create_profile(
            name="slow",
            issuer=ISSUER,
            audience=AUDIENCE,
            attribute_mapping={"email": "email", "token_id": "jti"},
            jwks_url=SLOW_JWKS_URL,
        )
    assert time.monotonic() - started < 10
    with pytest.raises(JwksUnavailable, match="deadline"):
        jwks_http.fetch_jwks(SLOW_JWKS_URL)
    assert time.monotonic() - started < 20
    assert stalled_resolver == ["jwks.slow-dns.test"] * 2
