"""Which public keys we are willing to verify with, and with which algorithm."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from trusted_auth.models.profiles import SUPPORTED_ALGORITHMS

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
EC_CURVE_BY_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
EC_CURVE_BY_KEY = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
ASYMMETRIC_ALGORITHMS = frozenset(SUPPORTED_ALGORITHMS)
# Hostile key bounds: an RSA verification costs about the square of the modulus
# size, so a JWKS serving huge moduli (or exponents) could make every attest expensive.
MAX_RSA_MODULUS_BITS = 8192
MIN_RSA_EXPONENT = 3
MAX_RSA_EXPONENT = 2**32
# Base64url of 8192 bits is 1366 characters; allow leading zero bytes, refuse anything far off.
_MAX_RSA_MODULUS_CHARACTERS = 1400
_MAX_RSA_EXPONENT_CHARACTERS = 12


def _base64url_integer(value: Any, max_characters: int) -> int | None:
    """The unsigned big-endian integer a JWK member encodes, or None when it is not one."""
    if not isinstance(value, str) or not value or len(value) > max_characters:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return int.from_bytes(raw, "big") if raw else None


def rsa_bounds_reason(jwk: dict[str, Any]) -> str | None:
    """Why an RSA JWK's modulus or public exponent is out of bounds, or None when it is fine."""
    modulus = _base64url_integer(jwk.get("n"), _MAX_RSA_MODULUS_CHARACTERS)
    if modulus is None or modulus.bit_length() > MAX_RSA_MODULUS_BITS:
        return f"RSA modulus is missing, malformed or larger than {MAX_RSA_MODULUS_BITS} bits"
    exponent = _base64url_integer(jwk.get("e"), _MAX_RSA_EXPONENT_CHARACTERS)
    if exponent is None or not (MIN_RSA_EXPONENT <= exponent <= MAX_RSA_EXPONENT):
        return "RSA public exponent is missing, malformed or outside 3..2**32"
    if exponent % 2 == 0:
        return "RSA public exponent is even"
    return None


def unusable_reason(jwk: Any) -> str | None:
    """Why a key from a JWKS must be dropped, or None when it may verify signatures."""
    if not isinstance(jwk, dict):
        return "not an object"
    kty = jwk.get("kty")
    if kty not in ("RSA", "EC", "OKP"):
        return f"kty {kty!r} is not an asymmetric signing key type"
    if PRIVATE_MEMBERS & jwk.keys():
        return "contains private key material"
    if "use" in jwk and jwk["use"] != "sig":
        return f"use {jwk['use']!r} is not 'sig'"
    if "alg" in jwk and jwk["alg"] not in ASYMMETRIC_ALGORITHMS:
        return f"alg {jwk['alg']!r} is not supported"
    if "key_ops" in jwk and (
        not isinstance(jwk["key_ops"], list) or "verify" not in jwk["key_ops"]
    ):
        return "key_ops does not allow verify"
    if "kid" in jwk and not isinstance(jwk["kid"], str):
        return "kid is not a string"
    if kty == "RSA":
        return rsa_bounds_reason(jwk)
    return None


def jwk_fits_algorithm(jwk: dict[str, Any], alg: str) -> bool:
    """A JWK can verify ``alg`` when its own ``alg`` (if any) agrees and its type and curve fit."""
    if jwk.get("alg", alg) != alg:
        return False
    kty = jwk.get("kty")
    if alg[:2] in ("RS", "PS"):
        return kty == "RSA"
    if alg in EC_CURVE_BY_ALG:
        return kty == "EC" and jwk.get("crv") == EC_CURVE_BY_ALG[alg]
    if alg == "EdDSA":
        return kty == "OKP" and jwk.get("crv") in ("Ed25519", "Ed448")
    return False


def public_key_fits_algorithm(key: Any, alg: str) -> bool:
    """The same rule for a key loaded from PEM."""
    if alg[:2] in ("RS", "PS"):
        return isinstance(key, rsa.RSAPublicKey)
    if alg in EC_CURVE_BY_ALG:
        return (
            isinstance(key, ec.EllipticCurvePublicKey)
            and EC_CURVE_BY_KEY.get(key.curve.name) == EC_CURVE_BY_ALG[alg]
        )
    if alg == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return False
