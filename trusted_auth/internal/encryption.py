"""Encryption at rest for our signing keys: Fernet (AES-128-CBC + HMAC-SHA256, from cryptography).

The key-encryption key is ``TRUSTED_AUTH["KEY_ENCRYPTION_KEY"]`` (a Fernet key) when set, else a
key derived from ``SECRET_KEY`` with HKDF-SHA256 under a fixed, app-specific label.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from trusted_auth.conf import trusted_auth_settings

__all__ = ["InvalidToken", "derive_fernet_key", "key_encryption_fernet"]


def derive_fernet_key(secret: str) -> bytes:
    """A Fernet key derived from an arbitrary secret string (such as ``SECRET_KEY``)."""
    raw = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"trusted_auth signing key encryption v1",
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def current_kek() -> bytes:
    configured = trusted_auth_settings.KEY_ENCRYPTION_KEY
    if configured:
        return configured.encode() if isinstance(configured, str) else configured
    return derive_fernet_key(settings.SECRET_KEY)


def key_encryption_fernet(kek: bytes | None = None) -> Fernet:
    return Fernet(kek or current_kek())
