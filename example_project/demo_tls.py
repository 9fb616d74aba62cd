"""A local certificate authority and a server certificate for ``manage.py demo``.

Both official Stytch SDKs refuse a ``custom_base_url`` that is not https, so the demo serves TLS.
On first run this writes, into the demo folder (git-ignored ``.demo/``):

- ``ca.pem``: the demo CA's certificate, the only file a client needs to trust
  (``curl --cacert``, ``REQUESTS_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``);
- ``server.pem`` / ``server-key.pem``: a certificate for ``127.0.0.1``, ``::1`` and
  ``localhost`` signed by that CA, and its private key (mode 0600).

The CA's own private key is never written: nothing else is ever signed with it, so a leaked demo
folder cannot mint certificates for other names. Later runs reuse the files while the server
certificate is valid for at least another day.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost",)
SERVER_ADDRESSES = ("127.0.0.1", "::1")
VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True)
class DemoCertificates:
    ca: Path
    certificate: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trusted_auth demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _still_valid(path: Path) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    remaining = certificate.not_valid_after_utc - dt.datetime.now(dt.UTC)
    return remaining > dt.timedelta(days=1)


def ensure_certificates(folder: Path) -> DemoCertificates:
    """The demo CA and server certificate in ``folder``, made on first use."""
    files = DemoCertificates(
        ca=folder / "ca.pem", certificate=folder / "server.pem", key=folder / "server-key.pem"
    )
    if all(p.exists() for p in (files.ca, files.key)) and _still_valid(files.certificate):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # clock skew between processes

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"trusted_auth demo CA ({now:%Y-%m-%d %H:%M})")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in SERVER_ADDRESSES]
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    files.key.touch(mode=0o600, exist_ok=True)
    files.key.chmod(0o600)
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files
