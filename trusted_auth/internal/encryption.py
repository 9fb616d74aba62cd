"""Encryption at rest for our signing keys: Fernet (AES-128-CBC + HMAC-SHA256, from cryptography).

The key-encryption key (KEK) is ``TRUSTED_AUTH["KEY_ENCRYPTION_KEY"]`` (a Fernet key) when set,
else a key derived from ``SECRET_KEY`` with HKDF-SHA256 under a fixed, app-specific label. New
values are encrypted under that current KEK; older ones still decrypt with its fallbacks
(``key_encryption_keys``), as Django's own signing follows ``SECRET_KEY_FALLBACKS``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from trusted_auth.conf import trusted_auth_settings


@lru_cache(maxsize=16)
def derive_fernet_key(secret: str) -> bytes:
    """A Fernet key derived from an arbitrary secret string (such as ``SECRET_KEY``)."""
    raw = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"trusted_auth signing key encryption v1",
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def _as_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def current_kek() -> bytes:
    configured = trusted_auth_settings.KEY_ENCRYPTION_KEY
    if configured:
        return _as_bytes(configured)
    return derive_fernet_key(settings.SECRET_KEY)


def key_encryption_keys() -> list[bytes]:
    """Every KEK a stored value may be encrypted under, the current one (which encrypts) first:
    ``KEY_ENCRYPTION_KEY`` and its fallbacks when set, then the keys derived from ``SECRET_KEY``
    and ``SECRET_KEY_FALLBACKS`` (so values stored before a KEK was set decrypt until ``keys
    rewrap`` moves them)."""
    derived = [
        derive_fernet_key(secret)
        for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        if isinstance(secret, str) and secret
    ]
    configured = trusted_auth_settings.KEY_ENCRYPTION_KEY
    if not configured:
        return list(dict.fromkeys(derived))
    fallbacks = trusted_auth_settings.KEY_ENCRYPTION_KEY_FALLBACKS
    explicit = [_as_bytes(k) for k in fallbacks if isinstance(k, str | bytes) and k]
    return list(dict.fromkeys([_as_bytes(configured), *explicit, *derived]))


def encrypt(plaintext: bytes) -> bytes:
    """``plaintext`` encrypted under the current KEK."""
    return Fernet(current_kek()).encrypt(plaintext)


def decrypt(token: bytes, extra_keys: Sequence[bytes] = ()) -> tuple[bytes, bool]:
    """The plaintext of ``token`` and whether the current KEK decrypted it (False: a fallback
    or one of ``extra_keys`` did). Raises ``InvalidToken`` when no KEK decrypts it; a fallback
    that is not a Fernet key is skipped (check ``trusted_auth.E004`` reports it)."""
    for index, key in enumerate([*key_encryption_keys(), *extra_keys]):
        try:
            fernet = Fernet(key)
        except (ValueError, TypeError):
            continue
        try:
            return fernet.decrypt(token), index == 0
        except InvalidToken:
            continue
    raise InvalidToken


def rewrap(token: bytes, extra_keys: Sequence[bytes] = ()) -> bytes | None:
    """``token`` re-encrypted under the current KEK, or None when it is under it already.
    Raises ``InvalidToken`` when no KEK (nor one of ``extra_keys``) decrypts it."""
    plaintext, current = decrypt(token, extra_keys)
    return None if current else encrypt(plaintext)
