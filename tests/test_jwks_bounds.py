"""Hostile JWKS keys are bounded (issue 12 item 8): RSA moduli of at most 8,192 bits, a sane
public exponent, and at most a handful of keys tried per token, also when several share a kid."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from trusted_auth.errors import TrustedAuthError
from trusted_auth.issuers.issuer_keys import MAX_CANDIDATE_KEYS
from trusted_auth.issuers.jwks_http import parse_jwks
from trusted_auth.issuers.verification import verify_external_token

from .issuers import JwksIssuer, SigningPair, default_claims


def b64url_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def with_members(pair: SigningPair, **members: int) -> dict:
    jwk = dict(pair.public_jwk)
    jwk.update({name: b64url_int(value) for name, value in members.items()})
    return jwk


@pytest.fixture(scope="module")
def pair() -> SigningPair:
    return SigningPair.rsa()


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"n": (1 << 8200) | 1}, "modulus"),
        ({"n": (1 << 16383) | 1}, "modulus"),
        ({"e": 1}, "exponent"),
        ({"e": 2}, "exponent"),
        ({"e": 65536}, "even"),
        ({"e": 2**32 + 2}, "exponent"),
        ({"e": 2**64 + 1}, "exponent"),
    ],
    ids=["8200-bit", "16384-bit", "e=1", "e=2", "e=65536", "e=2^32+2", "e=2^64+1"],
)
def test_rsa_keys_out_of_bounds_are_dropped(pair, members, reason):
    jwk = with_members(pair, **members)
    fetched = parse_jwks(json.dumps({"keys": [jwk]}).encode())
    assert fetched.keys == []
    [dropped] = fetched.dropped
    assert dropped["kid"] == pair.kid
    assert reason in dropped["reason"]


@pytest.mark.parametrize("broken", [{"n": "!!"}, {"n": ""}, {"e": 65537}, {"n": 12}])
def test_rsa_keys_with_malformed_members_are_dropped(pair, broken):
    jwk = dict(pair.public_jwk)
    jwk.update(broken)
    fetched = parse_jwks(json.dumps({"keys": [jwk]}).encode())
    assert fetched.keys == [] and len(fetched.dropped) == 1


@pytest.mark.parametrize("exponent", [3, 65537, 2**32 - 1])
def test_rsa_keys_within_bounds_are_kept(pair, exponent):
    jwk = with_members(pair, e=exponent)
    fetched = parse_jwks(json.dumps({"keys": [jwk]}).encode())
    assert fetched.keys == [jwk] and fetched.dropped == []


@pytest.fixture
def shared_kid_issuer(server_ssl_context) -> Iterator[JwksIssuer]:
    """An issuer publishing MAX_CANDIDATE_KEYS + 2 RSA keys under one kid."""
    pairs = [SigningPair.rsa() for _ in range(MAX_CANDIDATE_KEYS + 2)]
    for each in pairs:
        each.kid = "kid-shared"
    jwks_issuer = JwksIssuer(keys=pairs)
    jwks_issuer.start(server_ssl_context)
    yield jwks_issuer
    jwks_issuer.stop()


def test_at_most_a_handful_of_keys_sharing_a_kid_are_tried(shared_kid_issuer, profile_factory):
    profile = profile_factory(jwks_url=shared_kid_issuer.url)
    pairs = shared_kid_issuer.keys
    # The first keys in the set's order are candidates …
    for pair in pairs[:MAX_CANDIDATE_KEYS]:
        verified = verify_external_token(profile, pair.sign(default_claims()))
        assert verified.header["kid"] == "kid-shared"
    # … the ones after the cap are never tried, though each would verify its own token.
    for pair in pairs[MAX_CANDIDATE_KEYS:]:
        with pytest.raises(TrustedAuthError) as info:
            verify_external_token(profile, pair.sign(default_claims()))
        assert info.value.error_type == "invalid_trusted_auth_token"
    assert shared_kid_issuer.requests == 1
