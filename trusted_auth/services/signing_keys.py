"""Our own RSA keys that sign session JWTs: created on first need, encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.internal.encryption import key_encryption_fernet
from trusted_auth.models import SigningKey

PUBLISHED_STATES = (SigningKey.State.NEXT, SigningKey.State.CURRENT, SigningKey.State.PREVIOUS)

_private_keys: dict[tuple[str, bytes], rsa.RSAPrivateKey] = {}
_private_keys_guard = threading.Lock()


def _thumbprint_kid(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: a kid that names the key itself."""
    members = {k: public_jwk[k] for k in ("e", "kty", "n")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def generate_signing_key(state: str, key_size: int | None = None) -> SigningKey:
    """Create and store a new RSA key in ``state``."""
    size = key_size or int(trusted_auth_settings.SIGNING_KEY_SIZE)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=size)
    public_jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    kid = _thumbprint_kid(public_jwk)
    public_jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    now = timezone.now()
    return SigningKey.objects.create(
        kid=kid, state=state, key_size=size, public_jwk=public_jwk,
        private_key_encrypted=key_encryption_fernet().encrypt(pem),
        activated_at=now if state == SigningKey.State.CURRENT else None,
    )


def current_signing_key() -> SigningKey:
    """The key that signs now; one is created on first need."""
    key = SigningKey.objects.filter(state=SigningKey.State.CURRENT).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return generate_signing_key(SigningKey.State.CURRENT)
    except IntegrityError:
        # Another worker created the current key first; the unique constraint chose it.
        return SigningKey.objects.get(state=SigningKey.State.CURRENT)


def private_key(signing_key: SigningKey) -> rsa.RSAPrivateKey:
    """The decrypted private key, parsed once per process."""
    cache_key = (signing_key.kid, bytes(signing_key.private_key_encrypted))
    cached = _private_keys.get(cache_key)
    if cached is not None:
        return cached
    pem = key_encryption_fernet().decrypt(bytes(signing_key.private_key_encrypted))
    loaded = serialization.load_pem_private_key(pem, password=None)
    with _private_keys_guard:
        _private_keys[cache_key] = loaded
    return loaded


def published_keys() -> list[dict[str, Any]]:
    """Every public key that may still verify a live session JWT (JWKS ``keys``)."""
    return [key.public_jwk for key in
            SigningKey.objects.filter(state__in=PUBLISHED_STATES).order_by("-created_at")]
