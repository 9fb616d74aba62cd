"""The certificate each signing key carries in our JWKS (``x5c``/``x5tS256``): a name binding, not
a trust anchor, so a key without one or naming another ``ISSUER`` gets a new one when published."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.internal import x509
from trusted_auth.models import SigningKey


def issue_certificate(private_key: rsa.RSAPrivateKey, not_before: datetime) -> bytes:
    """A certificate naming the deployment's issuer, valid from ``not_before`` (publication)."""
    return x509.self_signed_certificate(
        private_key, subject=trusted_auth_settings.ISSUER, not_before=not_before
    )


def needs_certificate(key: SigningKey) -> bool:
    """True when ``key`` has no certificate, or one for another issuer name."""
    der = bytes(key.certificate or b"")
    expected = (trusted_auth_settings.ISSUER or "trusted_auth")[:64]
    return not der or x509.certificate_subject(der) != expected


def published_jwk(key: SigningKey) -> dict[str, Any]:
    """The JWK as our JWKS publishes it: the public members, ``key_ops``, ``x5c``, ``x5tS256``."""
    return {
        **key.public_jwk,
        "key_ops": ["verify"],
        **x509.jwk_certificate_members(bytes(key.certificate)),
    }
