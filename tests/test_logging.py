"""Operational log records: WARNING when a JWKS fetch fails or a stale set is served, INFO on the
lifecycle of signing keys and API secrets. Logger names are documented in docs/operations.md."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import caches

from trusted_auth.errors import TrustedAuthError
from trusted_auth.issuers.issuer_keys import _cache_key
from trusted_auth.issuers.verification import verify_external_token
from trusted_auth.sessions import secrets, signing_keys

from .issuers import default_claims


def records(caplog, logger: str, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno == level]


@pytest.fixture
def jwks_profile(issuer, profile_factory):
    return profile_factory(jwks_url=issuer.url)


def test_a_failed_jwks_fetch_is_a_warning(issuer, jwks_profile, caplog):
    issuer.down = True
    caplog.set_level(logging.INFO, logger="trusted_auth")
    with pytest.raises(TrustedAuthError):
        verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    [record] = records(caplog, "trusted_auth.jwks", logging.WARNING)
    assert record.jwks_url == issuer.url
    assert "JWKS fetch from" in record.getMessage() and "failed" in record.getMessage()


def test_serving_a_stale_jwks_is_a_warning(issuer, jwks_profile, caplog):
    token = issuer.signer.sign(default_claims())
    verify_external_token(jwks_profile, token)
    # Age the cached set past JWKS_CACHE_SECONDS instead of waiting for it.
    cache, key = caches["default"], _cache_key("jwks", jwks_profile)
    cache.set(key, {**cache.get(key), "fetched_at": time.time() - 3600})
    issuer.down = True
    caplog.set_level(logging.INFO, logger="trusted_auth")
    verify_external_token(jwks_profile, issuer.signer.sign(default_claims()))
    warnings = records(caplog, "trusted_auth.jwks", logging.WARNING)
    assert [r.getMessage().split(" ")[0] for r in warnings] == ["JWKS", "serving"]
    assert warnings[1].profile_id == jwks_profile.profile_id
    assert "stale JWKS" in warnings[1].getMessage()


def test_signing_key_lifecycle_is_logged(db, caplog, settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "SESSION_JWT_LIFETIME_SECONDS": 0}
    caplog.set_level(logging.INFO, logger="trusted_auth.keys")
    first = signing_keys.current_signing_key()
    published = signing_keys.rotate()
    promoted = signing_keys.rotate(promote=True)
    signing_keys.retire()
    messages = [r.getMessage() for r in records(caplog, "trusted_auth.keys", logging.INFO)]
    assert messages == [
        f"signing key {first.kid} created (current, RSA-2048)",
        f"signing key {published['kid']} created (next, RSA-2048)",
        f"signing key {promoted['kid']} promoted to current; previous: {first.kid}",
        f"signing key {first.kid} retired",
    ]


def test_api_secret_lifecycle_is_logged_without_the_secret(db, caplog):
    caplog.set_level(logging.INFO, logger="trusted_auth.secrets")
    old = secrets.create_secret("first")
    new = secrets.rotate_start()
    secrets.rotate_complete()
    secrets.revoke_secret(new.secret.secret_id)
    secrets.revoke_secret(new.secret.secret_id)  # idempotent: no second record
    logged = records(caplog, "trusted_auth.secrets", logging.INFO)
    old_id, new_id = old.secret.secret_id, new.secret.secret_id
    assert [r.getMessage() for r in logged] == [
        f"API secret {old_id} created",
        f"API secret {new_id} created",
        f"API secret rotation started: {new_id} will replace {old_id}",
        f"API secret {old_id} revoked",
        f"API secret rotation completed: {new_id} is live",
        f"API secret {new_id} revoked",
    ]
    assert logged[0].secret_id == old_id
    for record in logged:
        assert old.clear_text not in record.getMessage()
        assert new.clear_text not in record.getMessage()
