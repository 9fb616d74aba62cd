"""JOSE header and claims are UTF-8 JSON, nothing else (RFC 7515 §5.1, RFC 8725 §3.7).

``json.loads`` given bytes guesses UTF-16 and UTF-32 from the null bytes and strips a UTF-8 byte
order mark, and PyJWT hands it the raw bytes: a token in another encoding verified. Each token
here carries a valid signature over its segments, so only the encoding can refuse it.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from trusted_auth.internal.json_limits import NotUTF8, bounded_loads

from .issuers import default_claims
from .test_attest_rejections import INVALID, assert_rejected, post_attest

ENCODINGS = {
    "utf-16": lambda text: text.encode("utf-16"),  # with a byte order mark
    "utf-16-le": lambda text: text.encode("utf-16-le"),
    "utf-16-be": lambda text: text.encode("utf-16-be"),
    "utf-32": lambda text: text.encode("utf-32"),
    "utf-32-le": lambda text: text.encode("utf-32-le"),
    "utf-8 with BOM": lambda text: b"\xef\xbb\xbf" + text.encode(),
}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(signer, header: bytes, claims: bytes) -> str:
    """A compact JWS over exactly these header and claims bytes, RS256-signed by ``signer``."""
    signing_input = f"{b64(header)}.{b64(claims)}"
    signature = signer.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def header_text(signer) -> str:
    return json.dumps({"alg": "RS256", "typ": "JWT", "kid": signer.kid})


def test_the_same_token_in_utf8_is_accepted(api, pem_profile, signer):
    token = signed(signer, header_text(signer).encode(), json.dumps(default_claims()).encode())
    response = post_attest(api, pem_profile.profile_id, token)
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_header_in_another_encoding_is_refused(api, pem_profile, signer, encoding):
    header = ENCODINGS[encoding](header_text(signer))
    token = signed(signer, header, json.dumps(default_claims()).encode())
    assert_rejected(
        post_attest(api, pem_profile.profile_id, token), 401, INVALID, "token header is not UTF-8"
    )


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_claims_in_another_encoding_are_refused(api, pem_profile, signer, encoding):
    claims = ENCODINGS[encoding](json.dumps(default_claims()))
    token = signed(signer, header_text(signer).encode(), claims)
    assert_rejected(
        post_attest(api, pem_profile.profile_id, token), 401, INVALID, "token claims are not UTF-8"
    )


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\xff"}',
        b'{"a": "\xed\xa0\x80"}',
        b"\xef\xbb\xbf{}",
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-16-le"),
        b'{"a": "\x00"}',
    ],
    ids=["invalid-byte", "encoded-surrogate", "bom", "utf-16", "utf-16-le-no-bom", "nul"],
)
def test_bounded_loads_reads_bytes_as_utf8_only(raw):
    with pytest.raises(NotUTF8):
        bounded_loads(raw)
    assert bounded_loads('{"a": "é"}'.encode()) == {"a": "é"}
