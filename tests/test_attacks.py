"""Attacks on ``POST /v1/sessions/attest``: each one built with PyJWT/cryptography, each refused.

Every case asserts what an attacker and an operator see: a 4xx in the Stytch envelope (never a
500), no session row (each attack asks for one), and a failure audit event with the same
``error_type``; attacks that name a URL also prove no request reached it.

Attacks already covered one by one elsewhere are not repeated here:
``tests/test_attest_rejections.py`` (``alg`` none/None/lowercase/list/missing, HS256 with the PEM
as secret, ``crit``/``cty``/``enc``/``zip``, JWE, ``kid`` of the wrong type or length, embedded
``jwk`` with ``jku``/``x5u`` to the issuer, tampered signature, RSA-1024 key, missing/expired/
string/1e30 ``exp``, future ``nbf``/``iat``, wrong/missing ``iss``/``aud``, ``email`` as number/
list/Kelvin sign, ``email_verified: false``, stripped signature, 9 KB token, replay in one worker)
and ``tests/test_jwks.py`` (JWKS with private keys, ``oct``, ``use: enc``, ``alg: none``/HS256,
``key_ops``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.test import Client
from jwt.algorithms import RSAAlgorithm

from trusted_auth.models import AuditEvent

from .issuers import AUDIENCE, DROP, ISSUER, JwksIssuer, SigningPair, default_claims
from .test_attest_rejections import assert_rejected, b64url, post_attest

INVALID = "invalid_trusted_auth_token"
CLAIMS = "jwt_invalid_claims"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
TEN_YEARS = 10 * 365 * 24 * 3600


def sign_raw(pair: SigningPair, header: dict[str, Any], payload: Any) -> str:
    """Sign any header and payload (a dict, or raw JSON text no JWT library would write)."""
    signing_input = f"{b64url(header)}.{b64url(payload)}".encode()
    key = pair.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input.decode()}.{b64url(signature)}"


def hs256(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = f"{b64url(header)}.{b64url(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def raw_claims(**extra_json: str) -> str:
    """Default claims as JSON text, with members whose values are raw JSON (``NaN``, ``1e400``)."""
    claims = default_claims()
    for name in extra_json:
        claims.pop(name, None)
    members = [json.dumps(claims)[1:-1]] + [f'"{k}": {v}' for k, v in extra_json.items()]
    return "{" + ", ".join(members) + "}"


@pytest.fixture(scope="module")
def idp(server_ssl_context) -> Iterator[JwksIssuer]:
    """The JWKS issuer a ``jwks`` target profile trusts."""
    server = JwksIssuer(keys=[SigningPair.rsa()])
    server.start(server_ssl_context)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def elsewhere(server_ssl_context) -> Iterator[JwksIssuer]:
    """An attacker's JWKS, reachable over TLS: tokens point ``jku``/``x5u`` at it."""
    server = JwksIssuer(keys=[SigningPair.rsa()])
    server.start(server_ssl_context)
    yield server
    server.stop()


@dataclass
class Target:
    """Everything an attack is built against: the profiles' keys and the servers."""

    rsa: SigningPair  # the PEM profile's key (the ``signer`` fixture)
    ec: SigningPair  # the EC profile's key
    idp: JwksIssuer
    elsewhere: JwksIssuer
    profiles: dict[str, Any]
    settings: Any

    @property
    def idp_key(self) -> SigningPair:
        return self.idp.signer

    def header(self, pair: SigningPair | None = None, **extra: Any) -> dict[str, Any]:
        pair = pair or self.rsa
        return {"alg": pair.alg, "typ": "JWT", "kid": pair.kid, **extra}


@pytest.fixture
def target(idp, elsewhere, profile_factory, signer, settings) -> Target:
    idp.keys, idp.extra_keys, idp.down, idp.requests = [SigningPair.rsa()], [], False, 0
    elsewhere.keys, elsewhere.extra_keys, elsewhere.requests = [SigningPair.rsa()], [], 0
    ec_pair = SigningPair.ec()
    profiles = {
        "pem": profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True),
        "ec": profile_factory(pem_keys=[ec_pair.public_pem], can_jit_provision=True),
        "jwks": profile_factory(jwks_url=idp.url, can_jit_provision=True),
    }
    return Target(
        rsa=signer, ec=ec_pair, idp=idp, elsewhere=elsewhere, profiles=profiles, settings=settings
    )


@dataclass
class Attack:
    build: Callable[[Target], str]
    message: str
    error_type: str = INVALID
    profile: str = "pem"
    setup: Callable[[Target], None] | None = None
    status: int = 401


def case(
    id_: str, build: Callable[[Target], str], message: str, error_type: str = INVALID, **kwargs: Any
):
    return pytest.param(Attack(build, message, error_type, **kwargs), id=id_)


def _public_forms(pair: SigningPair) -> dict[str, bytes]:
    public = pair.private_key.public_key()
    return {
        "pem": pair.public_pem.encode(),
        "pkcs1-pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-json": RSAAlgorithm.to_jwk(public).encode(),
        "jwk-json-with-kid": json.dumps(pair.public_jwk).encode(),
    }


def _with_oct_key(t: Target) -> None:
    t.idp.extra_keys = [
        {
            "kty": "oct",
            "kid": "hmac-key",
            "alg": "HS256",
            "k": b64url(b"shared-secret-shared-secret-32by"),
        }
    ]


def _attacker_jwks(t: Target) -> SigningPair:
    """The attacker's key, published at ``elsewhere``: a token naming it by URL must not verify."""
    return t.elsewhere.signer


def _attacker_certificate() -> str:
    ca = trustme.CA()
    cert = ca.issue_cert("attacker.test")
    return base64.b64encode(
        x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).public_bytes(
            serialization.Encoding.DER
        )
    ).decode()


def _ecdsa_token(t: Target, r: int, s: int, size: int = 32) -> str:
    signing_input = f"{b64url(t.header(t.ec))}.{b64url(default_claims())}"
    return f"{signing_input}.{b64url(r.to_bytes(size, 'big') + s.to_bytes(size, 'big'))}"


def _signature_variant(token: str, change: Callable[[str], str]) -> str:
    header, payload, signature = token.split(".")
    return ".".join([header, payload, change(signature)])


def _noncanonical_last_char(signature: str) -> str:
    # An RS256 signature is 256 bytes: 342 characters whose last one carries 4 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    return signature[:-1] + alphabet[last | 1]


def _nested_header(depth: int) -> str:
    return f"{b64url('[' * depth + ']' * depth)}.{b64url(default_claims())}.{b64url(b'sig')}"


def _none_variants() -> list[str]:
    spellings = {"".join(c) for c in itertools.product(*[(ch, ch.upper()) for ch in "none"])}
    return sorted(spellings - {"none", "None"})  # those two are in test_attest_rejections


ATTACKS = [
    # --- alg none in every case variant, with and without a signature -----------------------
    *[
        case(
            f"alg-{alg}",
            lambda t, alg=alg: f"{b64url({'alg': alg})}.{b64url(default_claims())}.{b64url(b'x')}",
            "is not allowed by this profile",
        )
        for alg in _none_variants()
    ],
    *[
        case(
            f"alg-{alg}-unsigned",
            lambda t, alg=alg: f"{b64url({'alg': alg})}.{b64url(default_claims())}.",
            "empty segment",
        )
        for alg in ("NONE", "nOnE")
    ],
    case(
        "alg-none-with-trailing-space",
        lambda t: f"{b64url({'alg': 'none '})}.{b64url(default_claims())}.{b64url(b'x')}",
        "is not allowed by this profile",
    ),
    # --- RS256 -> HS256 with the public key (in every encoding) as the HMAC secret ----------
    *[
        case(
            f"hs256-with-public-key-as-{form}",
            lambda t, form=form: hs256(
                _public_forms(t.rsa)[form], t.header(alg="HS256"), default_claims()
            ),
            "'HS256' is not allowed",
        )
        for form in ("pkcs1-pem", "der", "jwk-json", "jwk-json-with-kid")
    ],
    case(
        "hs256-jwks-profile-with-issuer-jwk-as-secret",
        lambda t: hs256(
            json.dumps(t.idp_key.public_jwk).encode(),
            t.header(t.idp_key, alg="HS256"),
            default_claims(),
        ),
        "'HS256' is not allowed",
        profile="jwks",
    ),
    # --- a JWKS that publishes an oct (HMAC) key ----------------------------------------------
    case(
        "hs256-with-the-oct-key-from-the-jwks",
        lambda t: hs256(
            b"shared-secret-shared-secret-32by",
            {"alg": "HS256", "kid": "hmac-key"},
            default_claims(),
        ),
        "'HS256' is not allowed",
        profile="jwks",
        setup=_with_oct_key,
    ),
    case(
        "rs256-header-naming-the-oct-key",
        lambda t: hs256(
            b"shared-secret-shared-secret-32by",
            {"alg": "RS256", "kid": "hmac-key"},
            default_claims(),
        ),
        "no key with kid 'hmac-key'",
        profile="jwks",
        setup=_with_oct_key,
    ),
    # --- keys named by the token: jwk, jku, x5u, x5c -----------------------------------------
    case(
        "jku-to-attacker-jwks-jwks-profile",
        lambda t: sign_raw(
            _attacker_jwks(t), t.header(_attacker_jwks(t), jku=t.elsewhere.url), default_claims()
        ),
        "no key with kid",
        profile="jwks",
    ),
    case(
        "x5u-to-attacker-jwks-jwks-profile",
        lambda t: sign_raw(
            _attacker_jwks(t), t.header(_attacker_jwks(t), x5u=t.elsewhere.url), default_claims()
        ),
        "no key with kid",
        profile="jwks",
    ),
    case(
        "jku-with-the-issuers-kid",
        lambda t: sign_raw(
            _attacker_jwks(t), {**t.header(t.idp_key), "jku": t.elsewhere.url}, default_claims()
        ),
        "signature does not verify",
        profile="jwks",
    ),
    case(
        "x5c-self-signed-certificate",
        lambda t: sign_raw(
            _attacker_jwks(t),
            t.header(
                _attacker_jwks(t), x5c=[_attacker_certificate()], x5u=t.elsewhere.url, kid=t.rsa.kid
            ),
            default_claims(),
        ),
        "signature does not verify",
    ),
    case(
        "embedded-jwk-with-the-issuers-kid",
        lambda t: sign_raw(
            _attacker_jwks(t),
            {**t.header(t.idp_key), "jwk": _attacker_jwks(t).public_jwk},
            default_claims(),
        ),
        "signature does not verify",
        profile="jwks",
    ),
    # --- kid injection -------------------------------------------------------------------------
    *[
        case(
            f"kid-{name}",
            lambda t, kid=kid: sign_raw(t.idp_key, t.header(t.idp_key, kid=kid), default_claims()),
            "no key with kid",
            profile="jwks",
        )
        for name, kid in [
            ("path-traversal", "../../../../../../etc/passwd"),
            ("sql-injection", "' OR '1'='1' --"),
            ("nul-byte", "kid\u0000"),
            ("url", "https://127.0.0.1/jwks.json"),
        ]
    ],
    case(
        "kid-10KB-over-the-size-cap",
        lambda t: sign_raw(t.idp_key, t.header(t.idp_key, kid="k" * 10240), default_claims()),
        "larger than 8192 bytes",
        profile="jwks",
    ),
    case(
        "kid-10KB-under-a-raised-size-cap",
        lambda t: sign_raw(t.idp_key, t.header(t.idp_key, kid="k" * 10240), default_claims()),
        "kid must be a non-empty string",
        profile="jwks",
        setup=lambda t: t.settings.TRUSTED_AUTH.update(MAX_TOKEN_BYTES=64 * 1024),
    ),
    case(
        "kid-number-jwks-profile",
        lambda t: sign_raw(t.idp_key, t.header(t.idp_key, kid=1), default_claims()),
        "kid must be a non-empty string",
        profile="jwks",
    ),
    # --- ECDSA: the "psychic signature" family -------------------------------------------------
    case(
        "ecdsa-r-s-zero", lambda t: _ecdsa_token(t, 0, 0), "signature does not verify", profile="ec"
    ),
    case(
        "ecdsa-r-s-n",
        lambda t: _ecdsa_token(t, P256_ORDER, P256_ORDER),
        "signature does not verify",
        profile="ec",
    ),
    case(
        "ecdsa-r-s-one", lambda t: _ecdsa_token(t, 1, 1), "signature does not verify", profile="ec"
    ),
    case(
        "ecdsa-wrong-length",
        lambda t: _ecdsa_token(t, 1, 1, size=31),
        "signature does not verify",
        profile="ec",
    ),
    # --- exp, nbf, iat -------------------------------------------------------------------------
    case(
        "exp-float-expired",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(exp=time.time() - 100.5)),
        "expired",
        CLAIMS,
    ),
    *[
        case(
            f"exp-{value}",
            lambda t, value=value: sign_raw(t.rsa, t.header(), raw_claims(exp=value)),
            "exp must be a JSON number of seconds since the epoch",
            CLAIMS,
            status=400,
        )
        for value in ("NaN", "Infinity", "-Infinity")
    ],
    case(
        "exp-1e400",
        lambda t: sign_raw(t.rsa, t.header(), raw_claims(exp="1e400")),
        "exp must be a JSON number of seconds since the epoch",
        CLAIMS,
        status=400,
    ),
    # PyJWT reads true as 1 (1970): refused as expired before our own type check.
    case(
        "exp-true", lambda t: sign_raw(t.rsa, t.header(), raw_claims(exp="true")), "expired", CLAIMS
    ),
    case(
        "exp-null",
        lambda t: sign_raw(t.rsa, t.header(), raw_claims(exp="null")),
        'missing the "exp" claim',
        CLAIMS,
    ),
    case(
        "nbf-NaN",
        lambda t: sign_raw(t.rsa, t.header(), raw_claims(nbf="NaN")),
        "nbf must be a JSON number of seconds since the epoch",
        CLAIMS,
        status=400,
    ),
    case(
        "iat-NaN",
        lambda t: sign_raw(t.rsa, t.header(), raw_claims(iat="NaN")),
        "iat must be a JSON number of seconds since the epoch",
        CLAIMS,
        status=400,
    ),
    case(
        "ten-year-lifetime",
        lambda t: sign_raw(
            t.rsa,
            t.header(),
            default_claims(iat=int(time.time()), exp=int(time.time()) + TEN_YEARS),
        ),
        "lifetime",
        CLAIMS,
    ),
    case(
        "iat-far-past-exp-far-future",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(iat=0, exp=int(time.time()) + 300)),
        "lifetime",
        CLAIMS,
    ),
    # --- iss and aud ---------------------------------------------------------------------------
    *[
        case(
            f"iss-{name}",
            lambda t, iss=iss: sign_raw(t.rsa, t.header(), default_claims(iss=iss)),
            "issuer",
            "jwt_invalid_issuer",
        )
        for name, iss in [
            ("prefix", "https://issuer.test/auth"),
            ("extended", "https://issuer.test/auth/v1.evil.test"),
            ("uppercase", ISSUER.upper()),
            ("list", [ISSUER]),
            ("list-with-others", ["https://evil.test", ISSUER]),
        ]
    ],
    case(
        "iss-number",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(iss=1)),
        "issuer",
        "jwt_invalid_issuer",
    ),
    case(
        "aud-empty-string",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(aud="")),
        "aud",
        CLAIMS,
    ),
    case(
        "aud-list-of-empty-string",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(aud=[""])),
        "audience",
        "jwt_invalid_audience",
    ),
    case(
        "aud-prefix",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(aud=AUDIENCE[:-1])),
        "audience",
        "jwt_invalid_audience",
    ),
    case(
        "aud-number",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(aud=1)),
        "audience",
        "jwt_invalid_audience",
    ),
    # --- header extensions ---------------------------------------------------------------------
    case(
        "crit-unknown-extension",
        lambda t: sign_raw(
            t.rsa, t.header(crit=["x-unknown"], **{"x-unknown": True}), default_claims()
        ),
        "'crit' is not accepted",
    ),
    case(
        "b64-false",
        lambda t: sign_raw(t.rsa, t.header(b64=False), default_claims()),
        "'b64' is not accepted",
    ),
    case(
        "b64-false-with-crit",
        lambda t: sign_raw(t.rsa, t.header(b64=False, crit=["b64"]), default_claims()),
        "is not accepted",
    ),
    case(
        "nested-jwt-as-payload",
        lambda t: sign_raw(t.rsa, t.header(), json.dumps(t.rsa.sign(default_claims()))),
        "could not be verified",
    ),
    case(
        "nested-jwt-payload-with-cty",
        lambda t: sign_raw(t.rsa, t.header(cty="JWT"), json.dumps(t.rsa.sign(default_claims()))),
        "'cty' is not accepted",
    ),
    case(
        "jwe-compact",
        lambda t: ".".join(
            [b64url({"alg": "RSA-OAEP-256", "enc": "A256GCM"}), "AAAA", "AAAA", "AAAA", "AAAA"]
        ),
        "JWE is not accepted",
    ),
    # --- size and shape ------------------------------------------------------------------------
    # (A 2 MB token makes a body over the 64 KiB body cap: test_hostile_request_bodies_...)
    case(
        "token-12KB",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(padding="x" * 9_000)),
        "larger than 8192 bytes",
    ),
    # Depth caps are explicit (32 levels), checked on the text before any parser runs, so these
    # are refused alike on 3.11 (where json hits its recursion limit) and 3.13 (where it does not).
    case("header-nested-2500-deep", lambda t: _nested_header(2500), "header nested deeper than 32"),
    case(
        "payload-nested-5000-deep",
        lambda t: sign_raw(t.rsa, t.header(), "[" * 5000),
        "claims nested deeper than 32 levels",
    ),
    case(
        "payload-claim-nested-2000-deep",
        lambda t: sign_raw(t.rsa, t.header(), raw_claims(deep="[" * 2000 + "]" * 2000)),
        "claims nested deeper than 32 levels",
    ),
    case(
        "payload-claim-nested-32-deep",
        lambda t: sign_raw(t.rsa, t.header(), raw_claims(deep="[" * 32 + "]" * 32)),
        "claims nested deeper than 32 levels",
    ),
    case(
        "payload-json-array",
        lambda t: sign_raw(t.rsa, t.header(), [default_claims()]),
        "could not be verified",
    ),
    # --- email ---------------------------------------------------------------------------------
    case(
        "email-object",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(email={"email": "a@example.com"})),
        "email must be a string",
        CLAIMS,
    ),
    case(
        "email-kelvin-sign-domain",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(email="ada@\u212aexample.com")),
        "plain ASCII",
        CLAIMS,
    ),
    case(
        "email-fullwidth-at",
        lambda t: sign_raw(t.rsa, t.header(), default_claims(email="ada\uff20example.com")),
        "plain ASCII",
        CLAIMS,
    ),
    case(
        "email-verified-false-and-true-duplicate-key",
        lambda t: sign_raw(
            t.rsa, t.header(), raw_claims(email_verified='true, "email_verified": false')
        ),
        "not verified",
        CLAIMS,
    ),
    # --- signature: stripped, truncated, trailing data -----------------------------------------
    case(
        "signature-truncated-half",
        lambda t: _signature_variant(t.rsa.sign(default_claims()), lambda s: s[:172]),
        "signature does not verify",
    ),
    case(
        "signature-truncated-one-char",
        lambda t: _signature_variant(t.rsa.sign(default_claims()), lambda s: s[:-1]),
        "canonical base64url",
    ),
    case(
        "signature-from-another-token",
        lambda t: _signature_variant(
            t.rsa.sign(default_claims()), lambda s: t.rsa.sign(default_claims()).split(".")[2]
        ),
        "signature does not verify",
    ),
    case(
        "signature-noncanonical-last-char",
        lambda t: _signature_variant(t.rsa.sign(default_claims()), _noncanonical_last_char),
        "canonical base64url",
    ),
    *[
        case(
            f"trailing-{name}", lambda t, extra=extra: t.rsa.sign(default_claims()) + extra, message
        )
        for name, extra, message in [
            ("padding", "==", "canonical base64url"),
            ("newline", "\n", "canonical base64url"),
            ("space", " ", "canonical base64url"),
            ("junk-characters", "$$", "canonical base64url"),
            ("base64-bytes", "AAAA", "signature does not verify"),
            ("dot", ".", "not 4"),
        ]
    ],
    case("leading-whitespace", lambda t: " " + t.rsa.sign(default_claims()), "canonical base64url"),
    # --- the issuer's JWKS ---------------------------------------------------------------------
    case(
        "jwks-key-alg-mismatch",
        lambda t: sign_raw(t.idp.keys[0], t.header(t.idp.keys[0], alg="RS256"), default_claims()),
        "fits algorithm RS256",
        profile="jwks",
        setup=lambda t: setattr(t.idp.keys[0], "alg", "RS384"),
    ),
    case(
        "jwks-ec-p384-key-for-es256",
        lambda t: _ec_p384_token(t),
        "fits algorithm ES256",
        profile="jwks",
        setup=lambda t: t.idp.keys.append(_P384),
    ),
    case(
        "jwks-rsa-1024-key",
        lambda t: sign_raw(_RSA_1024, t.header(_RSA_1024), default_claims()),
        "1024 bits",
        profile="jwks",
        setup=lambda t: t.idp.keys.append(_RSA_1024),
    ),
]

_P384 = SigningPair.ec(ec.SECP384R1(), alg="ES384")
_RSA_1024 = SigningPair.rsa(bits=1024)


def _ec_p384_token(t: Target) -> str:
    key = _P384.private_key
    signing_input = f"{b64url({'alg': 'ES256', 'kid': _P384.kid})}.{b64url(default_claims())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(48, 'big') + s.to_bytes(48, 'big'))}"


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_is_refused(api, target, attack):
    target.settings.TRUSTED_AUTH = {**target.settings.TRUSTED_AUTH}
    if attack.setup is not None:
        attack.setup(target)
    target.settings.TRUSTED_AUTH = {**target.settings.TRUSTED_AUTH}  # reload after setup
    profile = target.profiles[attack.profile]
    response = post_attest(
        api, profile.profile_id, attack.build(target), session_duration_minutes=60
    )
    assert_rejected(response, attack.status, attack.error_type, attack.message)
    assert target.elsewhere.requests == 0, "a URL named by the token was fetched"


# --- the request around the token ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param(
            '{"profile_id": "p", "token": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "larger than 65536 bytes",
            id="body-nested-100000-deep",
        ),
        pytest.param(
            '{"profile_id": "p", "token": ' + "[" * 2_000 + "]" * 2_000 + "}",
            "nested deeper than 64 levels",
            id="body-nested-2000-deep",
        ),
        pytest.param(
            '{"profile_id": "p", "token": ' + "[" * 64 + "]" * 64 + "}",
            "nested deeper than 64 levels",
            id="body-nested-65-deep",
        ),
        pytest.param("[" * 10_000, "nested deeper than 64 levels", id="body-unclosed-nesting"),
        pytest.param(
            '{"profile_id": "p", "token": "' + "a" * 3_000_000 + '"}',
            "too large",
            id="body-3MB-over-django-upload-limit",
        ),
        pytest.param(
            '{"profile_id": "p", "token": "' + "a" * 70_000 + '"}',
            "larger than 65536 bytes",
            id="body-70KB",
        ),
    ],
)
@pytest.mark.parametrize("url", ["/v1/sessions/attest", "/v1/b2b/sessions/attest"])
def test_hostile_request_bodies_are_bad_requests(api, pem_profile, url, body, message):
    """Found by this suite: both were 500s (RecursionError, RequestDataTooBig) before."""
    response = api.post(url, body, content_type="application/json")
    assert_rejected(response, 400, "bad_request", message)


@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param('{"profile_id": "p", "token": ' + "[" * 100_000, "not JSON", id="nested"),
        pytest.param(
            '{"profile_id": "p", "token": "' + "a" * 3_000_000 + '"}', "too large", id="3MB"
        ),
    ],
)
def test_hostile_bodies_on_the_browser_flow_are_bad_requests(pem_profile, body, message):
    client = Client(enforce_csrf_checks=True)
    assert client.get("/example/signin").status_code == 200
    response = client.post(
        "/browser/exchange",
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 400, response.content
    assert response.json()["error_type"] == "bad_request"
    assert message in response.json()["error_message"]


def nested(depth: int) -> str:
    return "[" * (depth - 1) + "]" * (depth - 1)


@pytest.mark.parametrize(
    "depth, message",
    [(33, "nested deeper than 32 levels"), (60, "nested deeper than 32 levels")]
    # Deeper custom claims make the whole body deeper than its own cap of 64 levels.
    + [(908, "nested deeper than 64 levels")],
)
def test_custom_claims_nested_too_deeply_are_bad_requests(
    api, pem_profile, token_factory, depth, message
):
    """Found by this suite: claims nested ~900 deep still parsed, then hit the recursion limit
    when the session row was saved (a 500). Nesting is now capped at 32 levels."""
    body = (
        f'{{"profile_id": "{pem_profile.profile_id}", "token": "{token_factory()}", '
        f'"session_duration_minutes": 60, "session_custom_claims": {{"a": {nested(depth)}}}}}'
    )
    response = api.post("/v1/sessions/attest", body, content_type="application/json")
    assert_rejected(response, 400, "bad_request", message)


def test_custom_claims_nested_32_deep_are_kept(api, pem_profile, token_factory):
    claims = {"a": json.loads(nested(32))}
    response = post_attest(
        api,
        pem_profile.profile_id,
        token_factory(),
        session_duration_minutes=60,
        session_custom_claims=claims,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["session"]["custom_claims"] == claims
    refreshed = api.post(
        "/v1/sessions/authenticate",
        {
            "session_token": response.json()["session_token"],
            "session_custom_claims": {"b": json.loads(nested(33))},
        },
        format="json",
    )
    assert refreshed.status_code == 400, refreshed.json()
    assert "nested deeper than 32 levels" in refreshed.json()["error_message"]


@pytest.mark.parametrize("url", ["/v1/sessions/authenticate", "/v1/b2b/sessions/authenticate"])
def test_hostile_bodies_on_authenticate_are_bad_requests(api, url):
    response = api.post(url, '{"session_token": ' + "[" * 50_000, content_type="application/json")
    body = response.json()
    assert response.status_code == 400, body
    assert (body["error_type"], body["status_code"]) == ("bad_request", 400)


# --- replay -----------------------------------------------------------------------------------


def test_replay_with_a_malleated_ecdsa_signature(api, profile_factory):
    """Found by this suite: (r, s) and (r, n - s) both verify; without ``jti`` the replay marker
    was keyed by the raw token, so the twin signature attested the same token twice."""
    pair = SigningPair.ec()
    profile = profile_factory(
        pem_keys=[pair.public_pem],
        can_jit_provision=True,
        attribute_mapping={"email": "email", "token_id": "sid"},
    )
    token = pair.sign(default_claims(jti=DROP, sid="sid-ec"))
    first = post_attest(api, profile.profile_id, token, session_duration_minutes=60)
    assert first.status_code == 200, first.json()

    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    twin = ".".join(
        [header, payload, b64url(r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big"))]
    )
    assert twin != token
    response = post_attest(api, profile.profile_id, twin, session_duration_minutes=60)
    assert_rejected(response, 401, "trusted_token_replayed", sessions=1)


def test_replay_of_a_pss_token_resigned_with_fresh_randomness(api, profile_factory):
    """RSA-PSS signs with a random salt: the same claims signed twice differ only in signature."""
    pair = SigningPair.rsa(alg="PS256")
    profile = profile_factory(
        pem_keys=[pair.public_pem],
        can_jit_provision=True,
        algorithms=["PS256"],
        attribute_mapping={"email": "email", "token_id": "sid"},
    )
    claims = default_claims(jti=DROP, sid="sid-pss")
    first, second = pair.sign(claims), pair.sign(claims)
    assert first != second
    assert post_attest(api, profile.profile_id, first).status_code == 200
    assert_rejected(post_attest(api, profile.profile_id, second), 401, "trusted_token_replayed")


REPLAY_SCRIPT = textwrap.dedent("""
    import json, sys
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from trusted_auth.errors import TrustedAuthError
    from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile
    from trusted_auth.attest import AttestRequest, attest
    args = json.load(sys.stdin)
    profile, created = TrustedAuthTokenProfile.objects.get_or_create(
        name="one issuer, two workers", issuer=args["issuer"], audience=args["audience"],
        public_key_type="PEM", can_jit_provision=True,
        attribute_mapping={"email": "email", "token_id": "jti"})
    if created:
        ProfilePublicKey.objects.create(profile=profile, public_key_pem=args["pem"])
    try:
        result = attest(AttestRequest(profile_id=profile.profile_id, token=args["token"],
                                      session_duration_minutes=60))
        print(json.dumps({"outcome": "success", "session": bool(result.session_token)}))
    except TrustedAuthError as error:
        print(json.dumps({"outcome": "failure", "error_type": error.error_type}))
""")


def attest_in_a_worker(database: Path, token: str, pem: str) -> dict[str, Any]:
    """Run the attest service in a fresh Python process: its own empty local-memory cache, the
    shared SQLite database file."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CACHE_URL": "locmemcache://",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    done = subprocess.run(
        [sys.executable, "-c", REPLAY_SCRIPT],
        input=json.dumps({"token": token, "pem": pem, "issuer": ISSUER, "audience": AUDIENCE}),
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_replay_across_processes_that_share_only_the_database(token_factory, signer, tmp_path):
    """Issue 13: the consumed-token row, not a cache marker, refuses the replay — here each
    worker has a cache of its own (empty at start, as after a Redis restart)."""
    database = tmp_path / "shared.sqlite3"
    token = token_factory()
    assert attest_in_a_worker(database, token, signer.public_pem) == {
        "outcome": "success",
        "session": True,
    }
    for _ in range(2):
        assert attest_in_a_worker(database, token, signer.public_pem) == {
            "outcome": "failure",
            "error_type": "trusted_token_replayed",
        }


# --- NUL characters: fine for SQLite, refused by PostgreSQL text and jsonb columns --------------
# Run the suite with DATABASE_URL=postgres://… to see these matter: before the fixes, each was a
# 500 there (psycopg's DataError), and a pass on SQLite.


@pytest.mark.parametrize(
    "claims, message",
    [
        pytest.param(
            {"jti": "jti-\x00-nul"}, "token_id must not contain control characters", id="token-id"
        ),
        pytest.param({"email": "ada\x00@example.com"}, "not a valid email", id="email"),
    ],
)
def test_nul_in_mapped_claims_is_refused(api, pem_profile, token_factory, claims, message):
    response = post_attest(
        api, pem_profile.profile_id, token_factory(**claims), session_duration_minutes=60
    )
    assert_rejected(response, 401, CLAIMS, message)


def test_nul_in_the_subject_is_not_stored(api, pem_profile, token_factory):
    response = post_attest(
        api, pem_profile.profile_id, token_factory(sub="ext-\x00-1"), session_duration_minutes=60
    )
    assert response.status_code == 200, response.json()
    assert AuditEvent.objects.get().subject == "ext--1"


def test_nul_in_custom_claims_is_a_bad_request(api, pem_profile, token_factory):
    for claims in ({"a": "x\x00y"}, {"k\x00": 1}, {"a": [{"b": "\x00"}]}):
        response = post_attest(
            api,
            pem_profile.profile_id,
            token_factory(),
            session_duration_minutes=60,
            session_custom_claims=claims,
        )
        assert_rejected(response, 400, "bad_request", "NUL")


def test_nul_in_a_malformed_attest_is_audited(api):
    response = api.post(
        "/v1/sessions/attest", {"profile_id": "ttp-\x00", "token": ""}, format="json"
    )
    event = assert_rejected(response, 400, "bad_request")
    assert event.requested_profile_id == "ttp-"


# --- Unpaired surrogates: JSON can escape one (\ud800), no UTF-8 text can hold one ----------
# Before the fix, each reached a database write that could not encode it: a 500, or an attest
# refused with a 400 whose audit event was lost. I-JSON (RFC 7493 §2.1) refuses them; so do we.

SURROGATE = "\\ud800"  # as JSON text: a backslash escape, not a character


@pytest.mark.parametrize(
    "field", ["profile_id", "token", "session_token", "session_jwt", "session_custom_claims"]
)
def test_an_unpaired_surrogate_in_an_attest_body_is_a_bad_request(api, pem_profile, field):
    body = {"profile_id": pem_profile.profile_id, "token": "a.b.c", field: "@"}
    text = json.dumps(body).replace('"@"', f'"x{SURROGATE}y"')
    response = api.post("/v1/sessions/attest", text, content_type="application/json")
    event = assert_rejected(response, 400, "bad_request", "unpaired surrogate")
    # Refused with the body as a whole, as any JSON that does not parse: no profile_id is read.
    assert event.requested_profile_id == ""


@pytest.mark.parametrize(
    "text",
    [
        '"\\\\ud800"',  # an escaped backslash, then the letters "ud800": plain text
        '"\\ud83d\\ude00"',  # a high and a low surrogate: one character, U+1F600
        '"\\udbff\\udfff"',  # the last pair: U+10FFFF
    ],
)
def test_escapes_that_are_not_unpaired_surrogates_are_accepted(
    api, pem_profile, token_factory, text
):
    body = json.dumps(
        {
            "profile_id": pem_profile.profile_id,
            "token": token_factory(),
            "session_custom_claims": {"k": "@"},
            "session_duration_minutes": 60,
        }
    ).replace('"@"', text)
    response = api.post("/v1/sessions/attest", body, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert json.loads(f'{{"k": {text}}}')["k"] == response.json()["session"]["custom_claims"]["k"]


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"jti": "jti-\ud800"}, id="token-id"),
        pytest.param({"sub": "ext-\udfff"}, id="subject"),
        pytest.param({"name": "Ada \udc80"}, id="name"),
        pytest.param({"extra": {"deep": ["\ud800"]}}, id="unmapped-claim"),
    ],
)
def test_an_unpaired_surrogate_in_token_claims_is_refused(api, pem_profile, token_factory, claims):
    pem_profile.attribute_mapping = {**pem_profile.attribute_mapping, "name": "name"}
    pem_profile.save()
    response = post_attest(
        api, pem_profile.profile_id, token_factory(**claims), session_duration_minutes=60
    )
    assert_rejected(response, 401, INVALID, "unpaired surrogate")


def test_an_unpaired_surrogate_in_a_token_header_is_refused(api, pem_profile, token_factory):
    header, _, rest = token_factory().partition(".")
    forged = b64url({**json.loads(base64.urlsafe_b64decode(header + "==")), "kid": "\udc00"})
    response = post_attest(api, pem_profile.profile_id, f"{forged}.{rest}")
    assert_rejected(response, 401, INVALID, "unpaired surrogate")


@pytest.mark.parametrize(
    "url, field",
    [
        ("/v1/sessions?user_id=user-%00", "sessions"),
        ("/v1/b2b/sessions?organization_id=o%00&member_id=m%00", "member_sessions"),
    ],
)
def test_nul_in_query_parameters_matches_nothing(api, url, field):
    response = api.get(url)
    assert response.status_code == 200, response.json()
    assert response.json()[field] == []


def test_nul_in_the_browser_flows_profile_id(pem_profile, token_factory):
    client = Client(enforce_csrf_checks=True)
    assert client.get("/example/signin").status_code == 200
    response = client.post(
        "/browser/exchange",
        {"profile_id": "ttp-\x00", "token": "a.b.c"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 404, response.content
    assert response.json()["error_type"] == "trusted_token_profile_not_found"


def test_nul_in_the_user_agent_is_not_stored(api, pem_profile, token_factory):
    response = api.post(
        "/v1/sessions/attest",
        {"profile_id": pem_profile.profile_id, "token": token_factory()},
        format="json",
        HTTP_USER_AGENT="curl/8\x00evil",
    )
    assert response.status_code == 200, response.json()
    assert AuditEvent.objects.get().user_agent == "curl/8evil"
