"""EdDSA keys, Ed25519 and Ed448 alike, from a JWKS and from PEM (DESIGN.md §3 allows EdDSA;
PyJWT verifies both curves): the two key sources accept the same keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from jwt.algorithms import OKPAlgorithm

from trusted_auth.issuers.profiles import create_profile
from trusted_auth.models import Session

from .issuers import AUDIENCE, ISSUER, default_claims
from .test_attest_rejections import post_attest

REPO_ROOT = Path(__file__).resolve().parent.parent
CURVES = {"Ed25519": ed25519.Ed25519PrivateKey, "Ed448": ed448.Ed448PrivateKey}


def public_pem(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize("curve", CURVES)
def test_an_eddsa_pem_key_verifies_tokens(api, db, curve):
    private_key = CURVES[curve].generate()
    profile = create_profile(
        name=f"{curve} issuer",
        issuer=ISSUER,
        audience=AUDIENCE,
        attribute_mapping={"email": "email", "token_id": "jti"},
        pem_keys=[public_pem(private_key)],
        algorithms=["EdDSA"],
        can_jit_provision=True,
    )
    token = jwt.encode(default_claims(), private_key, algorithm="EdDSA")
    response = post_attest(api, profile.profile_id, token, session_duration_minutes=60)
    assert response.status_code == 200, response.json()
    assert Session.objects.count() == 1


@pytest.mark.parametrize("curve", CURVES)
def test_an_eddsa_jwks_key_verifies_tokens(api, issuer, profile_factory, curve):
    private_key = CURVES[curve].generate()
    jwk = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
    assert jwk["crv"] == curve
    issuer.extra_keys.append({**jwk, "kid": f"okp-{curve}", "alg": "EdDSA", "use": "sig"})
    profile = profile_factory(jwks_url=issuer.url, algorithms=["EdDSA"], can_jit_provision=True)
    token = jwt.encode(
        default_claims(), private_key, algorithm="EdDSA", headers={"kid": f"okp-{curve}"}
    )
    response = post_attest(api, profile.profile_id, token, session_duration_minutes=60)
    assert response.status_code == 200, response.json()


def test_manage_py_prints_no_warning():
    """Issue 30 item 3: every command printed a CryptographyDeprecationWarning before its
    output. With warnings as errors, ``manage.py check`` of the example project runs clean
    (DSA keys are still refused: tests/test_cli.py)."""
    completed = subprocess.run(
        [sys.executable, "-W", "error", "manage.py", "check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout.startswith("System check identified no issues")
