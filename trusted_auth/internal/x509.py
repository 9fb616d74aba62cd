"""The self-signed certificate each of our signing keys publishes in JWKS (``x5c``, ``x5tS256``),
as the Stytch SDKs model a JWK. It adds no trust (no CA vouches for it): it only binds the key to
the deployment's issuer name.
"""

from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# RFC 5280 §4.1.2.5: "no well-defined expiration date". A key is published until an operator
# retires it, which has no date known in advance, so the certificate must outlive any of them.
NO_EXPIRY = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


def self_signed_certificate(
    private_key: rsa.RSAPrivateKey, *, subject: str, not_before: datetime.datetime
) -> bytes:
    """The DER of a certificate for ``private_key``'s public key, signed by that key, naming
    ``subject``. Valid from ``not_before`` with no expiry: it must cover the key's whole
    publish-to-retire window."""
    common_name = (subject or "trusted_auth")[:64]  # X.520 caps commonName at 64 characters
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before.replace(microsecond=0))
        .not_valid_after(NO_EXPIRY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if subject.startswith(("https://", "http://")):
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(subject)]), critical=False
        )
    return builder.sign(private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def certificate_subject(der: bytes) -> str:
    """The common name a certificate was issued to (``""`` when it names none)."""
    names = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def jwk_certificate_members(der: bytes) -> dict[str, object]:
    """``x5c`` and ``x5tS256`` for a JWK (RFC 7517 §4.7, §4.9): standard base64 DER chain
    (just this certificate), base64url SHA-256 thumbprint without padding."""
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    return {"x5c": [base64.b64encode(der).decode()], "x5tS256": thumbprint}
