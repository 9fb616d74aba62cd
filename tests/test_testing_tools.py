"""``trusted_auth.testing``, the pytest plugin host projects use (this suite uses it too)."""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import caches

from trusted_auth.issuers.verification import verify_external_token
from trusted_auth.sessions import signing_keys
from trusted_auth.testing import KeyPool, default_claims


def _public_numbers(key: rsa.RSAPrivateKey) -> int:
    return key.public_key().public_numbers().n


def test_keys_return_to_the_pool_after_a_lease_and_never_repeat_within_one():
    pool = KeyPool()
    kept = pool.take(1024)  # outside any lease: a session-scoped holder keeps it
    with pool.lease():
        first = [pool.take(1024) for _ in range(3)]
    with pool.lease():
        second = [pool.take(1024) for _ in range(4)]
    assert len({_public_numbers(k) for k in first}) == 3
    assert len({_public_numbers(k) for k in second}) == 4
    assert {_public_numbers(k) for k in first} < {_public_numbers(k) for k in second}
    assert _public_numbers(kept) not in {_public_numbers(k) for k in first + second}
    assert pool.generated == 5  # 1 kept + 4 at most alive in one lease


def test_keys_taken_by_server_threads_during_a_lease_are_leased_too():
    pool = KeyPool()
    with pool.lease():
        thread = threading.Thread(target=pool.take, args=(1024,))
        thread.start()
        thread.join()
    with pool.lease():
        pool.take(1024)
    assert pool.generated == 1


def test_session_signing_keys_come_from_the_installed_pool(db, rsa_key_pool):
    before = rsa_key_pool.generated
    key = signing_keys.generate_signing_key("next")
    assert key.key_size == 2048
    assert rsa_key_pool.generated in (before, before + 1)  # from the pool, or a new pool key


def test_the_clock_moves_jwks_freshness_without_sleeping(clock, issuer, profile_factory, settings):
    # Small numbers: with Redis (the PostgreSQL + Redis pass) the clock really sleeps.
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_CACHE_SECONDS": 1}
    profile = profile_factory(jwks_url=issuer.url)
    verify_external_token(profile, issuer.signer.sign(default_claims()))
    verify_external_token(profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == 1
    clock.advance(1.2)
    verify_external_token(profile, issuer.signer.sign(default_claims()))
    assert issuer.requests == 2


def test_the_clock_moves_cache_expiry(clock):
    cache = caches["default"]
    cache.set("trusted_auth:test:clock", 1, timeout=2)
    clock.advance(1)
    assert cache.get("trusted_auth:test:clock") == 1
    clock.advance(1.5)
    assert cache.get("trusted_auth:test:clock") is None


def test_the_issuer_fixture_configures_trusted_auth_to_fetch_from_it(issuer, settings):
    assert settings.TRUSTED_AUTH["JWKS_ALLOW_PRIVATE_NETWORKS"] is True
    assert settings.TRUSTED_AUTH["JWKS_CA_BUNDLE"].endswith("ca.pem")
    assert issuer.url.startswith("https://127.0.0.1:")
