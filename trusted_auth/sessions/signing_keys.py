"""Our own RSA keys that sign session JWTs: created on first need, encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.signals import setting_changed
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt import PyJWK
from jwt.algorithms import RSAAlgorithm

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import ServiceUnavailable, TrustedAuthError
from trusted_auth.internal import encryption, generations
from trusted_auth.internal.cache import ProcessCache
from trusted_auth.models import SigningKey
from trusted_auth.sessions import key_certificates
from trusted_auth.timeutil import rfc3339

PUBLISHED_STATES = (SigningKey.State.NEXT, SigningKey.State.CURRENT, SigningKey.State.PREVIOUS)

_private_keys: ProcessCache[tuple[str, bytes], rsa.RSAPrivateKey] = ProcessCache(64)


logger = logging.getLogger("trusted_auth.keys")


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
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    now = timezone.now()
    key = SigningKey.objects.create(
        certificate=key_certificates.issue_certificate(private_key, now),
        kid=kid,
        state=state,
        key_size=size,
        public_jwk=public_jwk,
        private_key_encrypted=encryption.encrypt(pem),
        activated_at=now if state == SigningKey.State.CURRENT else None,
    )
    logger.info("signing key %s created (%s, RSA-%d)", kid, state, size, extra={"kid": kid})
    return key


@dataclass(frozen=True)
class Keyring:
    """The signing keys as one process sees them for one ``signing_keys`` generation."""

    current: SigningKey | None
    # Every key that may still verify a live session JWT, newest first (JWKS order).
    published: tuple[SigningKey, ...]
    verifiers: dict[str, PyJWK] = field(default_factory=dict)
    # The published JWK documents (with their certificates) per ISSUER, built once.
    jwks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _load_keyring() -> Keyring:
    keys = tuple(SigningKey.objects.filter(state__in=PUBLISHED_STATES).order_by("-created_at"))
    current = next((k for k in keys if k.state == SigningKey.State.CURRENT), None)
    return Keyring(
        current=current,
        published=keys,
        verifiers={k.kid: PyJWK(k.public_jwk, algorithm="RS256") for k in keys},
    )


# One read of the generation counters per request tells whether this copy is still right: a
# rotate or retire in any process (CLI, admin, another worker) is seen on the next request.
_keyring: ProcessCache[str, Keyring] = ProcessCache(1, counter=generations.SIGNING_KEYS)


def keyring() -> Keyring:
    """The signing keys of this generation (read from the database when they changed)."""
    return _keyring.fetch("keyring", _load_keyring)


def current_signing_key() -> SigningKey:
    """The key that signs now; one is created on first need."""
    key = keyring().current
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return generate_signing_key(SigningKey.State.CURRENT)
    except IntegrityError:
        # Another worker created the current key first; the unique constraint chose it.
        return SigningKey.objects.get(state=SigningKey.State.CURRENT)


# What to do when a stored key decrypts with no configured KEK, for the log line.
_NO_KEK_FIX = (
    "put the key it was encrypted under back: the old SECRET_KEY in SECRET_KEY_FALLBACKS, or "
    "the old KEY_ENCRYPTION_KEY in TRUSTED_AUTH['KEY_ENCRYPTION_KEY_FALLBACKS']; once every "
    "process runs with it, `manage.py trusted_auth keys rewrap` re-encrypts the stored keys "
    "under the current one"
)


def private_key(signing_key: SigningKey) -> rsa.RSAPrivateKey:
    """The decrypted private key, parsed once per process. A key under a fallback KEK is used
    and logged, not rewritten (processes of a rolling deploy may lack the new key: ``keys
    rewrap`` does it); a key no configured KEK decrypts is a 503 with the fix in the log."""
    cache_key = (signing_key.kid, bytes(signing_key.private_key_encrypted))
    cached = _private_keys.get(cache_key)
    if cached is not None:
        return cached
    try:
        pem, current = encryption.decrypt(bytes(signing_key.private_key_encrypted))
    except InvalidToken as e:
        logger.error(
            "trusted_auth: signing key %s decrypts with no configured key-encryption key "
            "(KEY_ENCRYPTION_KEY, or SECRET_KEY when it is unset, and their fallbacks): %s",
            signing_key.kid,
            _NO_KEK_FIX,
            extra={"kid": signing_key.kid},
        )
        raise ServiceUnavailable(
            "the server cannot decrypt its signing keys (key-encryption settings); retry later",
            retry_after=int(trusted_auth_settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
        ) from e
    if not current:
        logger.warning(
            "signing key %s is encrypted under a fallback key-encryption key; run `manage.py "
            "trusted_auth keys rewrap` once every process runs with the current one",
            signing_key.kid,
            extra={"kid": signing_key.kid},
        )
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TrustedAuthError(f"signing key {signing_key.kid} is not an RSA key")
    _private_keys.put(cache_key, None, loaded)
    return loaded


def _forget_private_keys(*, setting: str, **kwargs: Any) -> None:
    """A decrypted key is kept only while the settings that decrypted it are in force (tests
    change them with ``override_settings``; a process never does)."""
    if setting in ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "TRUSTED_AUTH"):
        _private_keys.clear()


setting_changed.connect(_forget_private_keys)


def published_keys() -> list[dict[str, Any]]:
    """Every public key that may still verify a live session JWT (JWKS ``keys``)."""
    ring = keyring()
    issuer = trusted_auth_settings.ISSUER
    documents = ring.jwks.get(issuer)
    if documents is None:
        for key in ring.published:
            if key_certificates.needs_certificate(key):
                # Saved once per key (and issuer name): the save bumps the generation, so every
                # worker reloads its keyring and serves the certificate too.
                key.certificate = key_certificates.issue_certificate(
                    private_key(key), key.created_at
                )
                key.save(update_fields=["certificate"])
        documents = ring.jwks[issuer] = [
            key_certificates.published_jwk(key) for key in ring.published
        ]
    return documents


class RotationRefused(TrustedAuthError):
    error_type = "key_rotation_refused"
    status_code = 409


def rotate(*, promote: bool = False) -> dict[str, Any]:
    """One step of a zero-downtime rotation: publish a new ``next`` key (in JWKS, not signing),
    or promote it to ``current`` once every JWKS cache has seen it (``KEY_PUBLISH_SECONDS``, or
    ``promote``); otherwise refuse."""
    pending = SigningKey.objects.filter(state=SigningKey.State.NEXT).order_by("-created_at").first()
    if pending is None:
        current_signing_key()  # a first rotation on a fresh install still leaves a signer
        created = generate_signing_key(SigningKey.State.NEXT)
        return {"action": "published", "kid": created.kid, "state": created.state}
    now = timezone.now()
    age = (now - pending.created_at).total_seconds()
    if not promote and age < trusted_auth_settings.KEY_PUBLISH_SECONDS:
        raise RotationRefused(
            f"key {pending.kid} has been published for {int(age)} s; promote after "
            f"{trusted_auth_settings.KEY_PUBLISH_SECONDS} s or pass --promote"
        )
    with transaction.atomic():
        demoted = list(
            SigningKey.objects.select_for_update().filter(state=SigningKey.State.CURRENT)
        )
        SigningKey.objects.filter(pk__in=[k.pk for k in demoted]).update(
            state=SigningKey.State.PREVIOUS, deactivated_at=now
        )
        SigningKey.objects.filter(pk=pending.pk).update(
            state=SigningKey.State.CURRENT, activated_at=now
        )
        generations.bump(generations.SIGNING_KEYS)  # update() sends no signal
    logger.info(
        "signing key %s promoted to current; previous: %s",
        pending.kid,
        ", ".join(k.kid for k in demoted) or "none",
        extra={"kid": pending.kid},
    )
    return {
        "action": "promoted",
        "kid": pending.kid,
        "state": SigningKey.State.CURRENT,
        "previous": [k.kid for k in demoted],
    }


def retire(*, force: bool = False) -> dict[str, Any]:
    """Remove ``previous`` keys from JWKS once no unexpired session JWT can carry their kid;
    earlier (live JWTs would fail verification) only with ``force``."""
    lifetime = trusted_auth_settings.SESSION_JWT_LIFETIME_SECONDS
    retired, waiting = [], []
    for key in SigningKey.objects.filter(state=SigningKey.State.PREVIOUS):
        stopped = key.deactivated_at or key.created_at
        safe_at = stopped + timedelta(seconds=lifetime)
        if force or timezone.now() >= safe_at:
            retired.append(key)
        else:
            waiting.append({"kid": key.kid, "safe_at": rfc3339(safe_at)})
    if waiting and not force:
        raise RotationRefused(
            "session JWTs signed by these keys may still be live: "
            + ", ".join(f"{w['kid']} (safe at {w['safe_at']})" for w in waiting)
            + "; wait, or pass --force"
        )
    with transaction.atomic():
        SigningKey.objects.filter(pk__in=[k.pk for k in retired]).update(
            state=SigningKey.State.RETIRED
        )
        generations.bump(generations.SIGNING_KEYS)  # update() sends no signal
    for key in retired:
        logger.info("signing key %s retired%s", key.kid, " (forced)" if force else "")
    return {"action": "retired", "kids": [k.kid for k in retired]}


def rewrap(extra_keys: Sequence[bytes] = ()) -> dict[str, Any]:
    """Re-encrypt every stored private key under the current KEK, decrypting with a fallback KEK
    or one of ``extra_keys``. All or nothing: a key none decrypts is named by
    ``TrustedAuthError(invalid_key_encryption_key)`` and nothing is written."""
    rewrapped: list[SigningKey] = []
    current: list[str] = []
    undecryptable: list[str] = []
    with transaction.atomic():
        for key in SigningKey.objects.select_for_update().order_by("created_at", "pk"):
            try:
                token = encryption.rewrap(bytes(key.private_key_encrypted), extra_keys)
            except InvalidToken:
                undecryptable.append(key.kid)
                continue
            if token is None:
                current.append(key.kid)
            else:
                key.private_key_encrypted = token
                rewrapped.append(key)
        if undecryptable:
            raise TrustedAuthError(
                f"signing keys {', '.join(undecryptable)} decrypt with neither the current "
                "key-encryption key nor a fallback"
                + (" nor the old KEK given" if extra_keys else "")
                + f"; nothing was changed. To fix: {_NO_KEK_FIX}",
                error_type="invalid_key_encryption_key",
            )
        for key in rewrapped:
            key.save(update_fields=["private_key_encrypted"])
    if rewrapped:
        logger.info(
            "re-encrypted signing keys %s under the current key-encryption key",
            ", ".join(k.kid for k in rewrapped),
        )
    return {"action": "rewrapped", "kids": [k.kid for k in rewrapped], "already_current": current}


def reencrypt(old_kek: bytes) -> int:
    """``rewrap`` with ``old_kek`` as one more key to decrypt with (a KEK no longer in the
    settings). Returns how many keys were rewritten."""
    return len(rewrap(extra_keys=[old_kek])["kids"])


def list_keys() -> list[dict[str, Any]]:
    return [
        {
            "kid": key.kid,
            "state": key.state,
            "algorithm": key.algorithm,
            "key_size": key.key_size,
            "created_at": rfc3339(key.created_at),
            "activated_at": rfc3339(key.activated_at),
            "deactivated_at": rfc3339(key.deactivated_at),
        }
        for key in SigningKey.objects.order_by("-created_at")
    ]
