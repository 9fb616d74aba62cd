"""PEM public keys: parsing, the key types we verify with, and the checks on a key list. Anything
else (a private key, a certificate, a short RSA key) is an ``InvalidProfile`` saying what to do.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from trusted_auth.errors import InvalidProfile
from trusted_auth.internal.jwk import EC_CURVE_BY_KEY, public_key_fits_algorithm
from trusted_auth.models.profiles import MAX_PEM_KEYS, SUPPORTED_ALGORITHMS

MIN_RSA_KEY_BITS = 2048
# A 16384-bit RSA key in PEM is about 2.8 KiB; anything far larger is not one public key.
MAX_PEM_CHARACTERS = 16 * 1024
SUPPORTED_KEY_TYPES = "RSA (2048 bits or more), EC P-256/P-384/P-521, Ed25519 or Ed448"

PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_PUBLIC_KEY_LABELS = ("PUBLIC KEY", "RSA PUBLIC KEY")
# Key types we refuse, by class name: naming cryptography's DSA class would emit its
# deprecation warning on import, before every management command's output.
_UNSUPPORTED_KEY_KINDS = {
    "DSAPublicKey": "DSA",
    "X25519PublicKey": "X25519 (a key-agreement key)",
    "X448PublicKey": "X448 (a key-agreement key)",
}


def looks_like_pem(text: Any) -> bool:
    """True when ``text`` holds a PEM ``-----BEGIN …-----`` line (pasted in the wrong box?)."""
    return isinstance(text, str) and PEM_BEGIN.search(text) is not None


def validate_public_key_pem(pem: str | bytes) -> PublicKeyTypes:
    """Load one PEM public key we are willing to verify with: RSA of at least 2048 bits, EC on
    P-256, P-384 or P-521, or Ed25519, in a ``PUBLIC KEY`` or ``RSA PUBLIC KEY`` block. Anything
    else raises ``InvalidProfile`` saying what to do instead."""
    if isinstance(pem, bytes):
        try:
            pem = pem.decode("ascii")
        except UnicodeDecodeError as e:
            raise _key_error("the PEM public key is not ASCII text") from e
    if not isinstance(pem, str) or not pem.strip():
        raise _key_error("the PEM public key is empty")
    if len(pem) > MAX_PEM_CHARACTERS:
        raise _key_error(
            f"the PEM text is longer than {MAX_PEM_CHARACTERS} characters; "
            "give exactly one public key"
        )
    labels = PEM_BEGIN.findall(pem)
    if any("PRIVATE KEY" in label for label in labels):
        raise _key_error(
            "this is a PRIVATE key: a profile holds only the issuer's PUBLIC key. Keep the private "
            "key with the issuer and give its public half (openssl pkey -in key.pem -pubout)"
        )
    if any("CERTIFICATE" in label for label in labels):
        raise _key_error(
            "this is a certificate, not a public key; extract its public key "
            "(openssl x509 -in cert.pem -pubkey -noout) and give that"
        )
    if not labels:
        raise _key_error("not a PEM public key: expected a '-----BEGIN PUBLIC KEY-----' block")
    if len(labels) > 1:
        raise _key_error(f"the PEM text holds {len(labels)} blocks; give one public key at a time")
    if labels[0] not in _PUBLIC_KEY_LABELS:
        raise _key_error(
            f"a PEM '{labels[0]}' block is not a public key; expected '-----BEGIN PUBLIC KEY-----'"
        )
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise _key_error("the PEM public key could not be parsed (damaged or truncated?)") from e
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_KEY_BITS:
            raise _key_error(
                f"the RSA key has {key.key_size} bits; at least {MIN_RSA_KEY_BITS} are required"
            )
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_CURVE_BY_KEY:
            raise _key_error(
                f"EC curve {key.curve.name} is not supported; use P-256, P-384 or P-521"
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return key
    kind = _UNSUPPORTED_KEY_KINDS.get(type(key).__name__, type(key).__name__)
    raise _key_error(f"{kind} keys are not supported; use {SUPPORTED_KEY_TYPES}")


def describe_public_key(key: PublicKeyTypes) -> str:
    """A short name for a key's type and size: ``RSA 2048``, ``EC P-256``, ``Ed25519``,
    ``Ed448``."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {EC_CURVE_BY_KEY.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    return type(key).__name__


def public_key_fingerprint(key: PublicKeyTypes) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, hex: the same key always has the same one."""
    return hashlib.sha256(spki(key, serialization.Encoding.DER)).hexdigest()


def spki(key: PublicKeyTypes, encoding: serialization.Encoding) -> bytes:
    """The key as SubjectPublicKeyInfo in ``encoding``."""
    return key.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)


def spki_pem(key: PublicKeyTypes) -> str:
    """The key as a ``PUBLIC KEY`` PEM block: the form every stored key takes."""
    return spki(key, serialization.Encoding.PEM).decode()


def normalised_public_key_pem(pem: str | bytes) -> str:
    """``validate_public_key_pem``, then the key as a ``PUBLIC KEY`` (SubjectPublicKeyInfo)
    PEM block: the form every stored key takes."""
    return spki_pem(validate_public_key_pem(pem))


def load_stored_key(pem: str) -> Any:
    """A stored key, or None when it no longer loads."""
    try:
        return serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def algorithms_for(key: PublicKeyTypes) -> list[str]:
    """The supported algorithms this key can verify."""
    return [alg for alg in SUPPORTED_ALGORITHMS if public_key_fits_algorithm(key, alg)]


def check_keys_fit(keys: Iterable[PublicKeyTypes], algorithms: Sequence[str]) -> None:
    """Refuse a key no allowed algorithm can use: it would never verify anything."""
    for key in keys:
        if not any(public_key_fits_algorithm(key, alg) for alg in algorithms):
            raise InvalidProfile(
                f"the {describe_public_key(key)} key fits none of the profile's algorithms "
                f"({', '.join(algorithms)}); allow one of {', '.join(algorithms_for(key))}",
                field="algorithms",
            )


def load_pem_keys(pems: Sequence[str]) -> list[PublicKeyTypes]:
    """A PEM profile's whole key list: 1..5 keys that parse, no key twice."""
    if not pems:
        raise InvalidProfile("a PEM profile needs at least one public key", field="pem_keys")
    if len(pems) > MAX_PEM_KEYS:
        raise InvalidProfile(
            f"a profile holds at most {MAX_PEM_KEYS} PEM keys, not {len(pems)}", field="pem_keys"
        )
    keys: list[PublicKeyTypes] = []
    seen: set[str] = set()
    for number, pem in enumerate(pems, start=1):
        try:
            key = validate_public_key_pem(pem)
        except InvalidProfile as e:
            prefix = f"PEM key {number}: " if len(pems) > 1 else ""
            raise InvalidProfile(prefix + e.message, field="pem_keys") from e
        fingerprint = public_key_fingerprint(key)
        if fingerprint in seen:
            raise InvalidProfile(
                f"PEM key {number} is the same key as an earlier one", field="pem_keys"
            )
        seen.add(fingerprint)
        keys.append(key)
    return keys


def check_pem_keys(pems: Sequence[str], algorithms: Sequence[str]) -> None:
    """The rules for a PEM profile's whole key list: 1..5 keys that parse, no duplicates, each
    usable with one of ``algorithms``. Raises ``InvalidProfile``."""
    check_keys_fit(load_pem_keys(pems), algorithms)


def _key_error(message: str) -> InvalidProfile:
    return InvalidProfile(message, field="pem_keys")
