"""Our own JWKS carries, per key, the self-signed certificate the Stytch SDK models require."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from stytch.b2b.models.sessions import GetJWKSResponse as B2BGetJWKSResponse
from stytch.consumer.models.sessions import GetJWKSResponse

from trusted_auth.models import SigningKey
from trusted_auth.sessions.signing_keys import current_signing_key, published_keys, rotate

pytestmark = pytest.mark.django_db


def _certificate(jwk: dict) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))


def test_each_published_key_carries_a_certificate_of_its_own_public_key(settings):
    current_signing_key()
    rotate()  # a `next` key is published too

    keys = published_keys()

    assert len(keys) == 2
    for jwk in keys:
        assert len(jwk["x5c"]) == 1
        der = base64.b64decode(jwk["x5c"][0], validate=True)
        thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
        assert jwk["x5tS256"] == thumbprint
        certificate = _certificate(jwk)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        assert certificate.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ) == RSAAlgorithm.from_jwk(jwk).public_bytes(serialization.Encoding.DER, spki)
        # Self-signed by that very key, naming the deployment's issuer.
        certificate.verify_directly_issued_by(certificate)
        name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert name == settings.TRUSTED_AUTH["ISSUER"] == certificate.issuer.rfc4514_string()[3:]
        row = SigningKey.objects.get(kid=jwk["kid"])
        assert certificate.not_valid_before_utc <= row.created_at
        assert certificate.not_valid_after_utc.year == 9999  # published until retired, no date
        assert jwk["key_ops"] == ["verify"] and "d" not in jwk


def test_the_sdk_models_parse_our_jwks_consumer_and_b2b():
    current_signing_key()
    body = {"status_code": 200, "request_id": "request-id-1", "keys": published_keys()}

    for model in (GetJWKSResponse, B2BGetJWKSResponse):
        parsed = model.from_json(200, body)
        assert [k.kid for k in parsed.keys] == [current_signing_key().kid]
        assert parsed.keys[0].x5tS256 == body["keys"][0]["x5tS256"]


def test_a_key_from_before_certificates_gets_one_when_next_published(settings):
    key = current_signing_key()
    SigningKey.objects.filter(pk=key.pk).update(certificate=b"")

    jwk = published_keys()[0]

    key.refresh_from_db()
    assert bytes(key.certificate) == base64.b64decode(jwk["x5c"][0])
    assert published_keys()[0]["x5tS256"] == jwk["x5tS256"]  # stored, not re-made each time


def test_a_changed_issuer_gets_a_certificate_naming_it(settings):
    current_signing_key()
    before = published_keys()[0]["x5tS256"]
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "ISSUER": "https://auth.example.com"}

    jwk = published_keys()[0]

    assert jwk["x5tS256"] != before
    name = _certificate(jwk).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert name == "https://auth.example.com"
