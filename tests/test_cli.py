"""``manage.py trusted_auth secret …`` and ``profile …``: JSON on stdout, errors as CommandError.

Profile rules are exercised through the command, the way an operator meets them; the key-type
rules of ``validate_public_key_pem`` also have a table of their own.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519
from cryptography.x509.oid import NameOID
from django.core.management import call_command
from django.core.management.base import CommandError

from trusted_auth.attest import AttestRequest, attest
from trusted_auth.errors import InvalidProfile, Unauthorized
from trusted_auth.issuers.dry_run import dry_run_token
from trusted_auth.issuers.profiles import create_profile, validate_public_key_pem
from trusted_auth.models import (
    ApiSecret,
    AuditEvent,
    ProfilePublicKey,
    Session,
    TrustedAuthTokenProfile,
)
from trusted_auth.sessions.secrets import authenticate_secret

from .issuers import AUDIENCE, ISSUER, SigningPair, default_claims

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parent.parent
MAPPING = ["email=email", "token_id=jti", "external_user_id=sub"]


def run(*args: str, stdin: str | None = None, **options: Any) -> tuple[Any, str]:
    """Run ``trusted_auth`` with ``args``; returns (parsed stdout, stderr)."""
    out, err = StringIO(), StringIO()
    if stdin is not None:
        options["stdin"] = StringIO(stdin)
    call_command("trusted_auth", *args, stdout=out, stderr=err, **options)
    return json.loads(out.getvalue()), err.getvalue()


def run_failing(*args: str) -> tuple[str, str]:
    """Run a command that must fail; returns (stdout, error message)."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("trusted_auth", *args, stdout=out, stderr=err)
    return out.getvalue(), str(raised.value)


def public_pem(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(private_key: Any, fmt=serialization.PrivateFormat.PKCS8, encryption=None) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, fmt, encryption or serialization.NoEncryption()
    ).decode()


def certificate_pem(private_key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def rsa_1024():
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.fixture
def write_pem(tmp_path):
    """Write PEM text to a file under tmp_path; returns its path as a string."""
    count = 0

    def write(text: str) -> str:
        nonlocal count
        count += 1
        path = tmp_path / f"key-{count}.pem"
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture
def create_pem_profile(write_pem, signer):
    """``profile create`` with the session signer's public key (or ``pems``); returns stdout."""

    def create(*extra: str, pems: list[str] | None = None) -> dict[str, Any]:
        paths = [write_pem(pem) for pem in (pems or [signer.public_pem])]
        data, _ = run(
            "profile",
            "create",
            "--name",
            "Own signer",
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
            "--pem-file",
            *paths,
            "--map",
            *MAPPING,
            *extra,
        )
        return data

    return create


# --- profile create ---------------------------------------------------------------------------


def test_create_pem_profile(create_pem_profile, signer):
    data = create_pem_profile(
        "--jit",
        "--algorithms",
        "RS256",
        "PS256",
        "--leeway",
        "10",
        "--max-lifetime",
        "600",
        "--replay-policy",
        "allow",
    )

    profile = TrustedAuthTokenProfile.objects.get(profile_id=data["profile_id"])
    assert data["profile_id"].startswith("ttp-")
    assert (profile.name, profile.issuer, profile.audience) == ("Own signer", ISSUER, AUDIENCE)
    assert profile.public_key_type == "PEM" and profile.jwks_url == ""
    assert profile.attribute_mapping == {
        "email": "email",
        "token_id": "jti",
        "external_user_id": "sub",
    }
    assert profile.can_jit_provision is True
    assert profile.algorithms == ["RS256", "PS256"]
    assert (profile.leeway_seconds, profile.max_token_lifetime_seconds) == (10, 600)
    assert profile.replay_policy == "allow"
    [key] = profile.pem_keys.all()
    assert key.public_key_pem == signer.public_pem
    assert data["pem_keys"] == [
        {
            "key_id": key.key_id,
            "key_type": "RSA 2048",
            "sha256_fingerprint": data["pem_keys"][0]["sha256_fingerprint"],
            "created_at": data["pem_keys"][0]["created_at"],
        }
    ]
    assert key.key_id.startswith("pem-")
    assert len(data["pem_keys"][0]["sha256_fingerprint"]) == 64
    assert data["algorithms"] == ["RS256", "PS256"] and data["replay_policy"] == "allow"


def test_create_takes_the_documented_defaults(create_pem_profile):
    data = create_pem_profile()

    assert data["algorithms"] == ["RS256", "ES256"]
    assert data["leeway_seconds"] == 30
    assert data["max_token_lifetime_seconds"] == 3600
    assert data["replay_policy"] == "single_use"
    assert data["can_jit_provision"] is False
    assert data["can_jit_create_organizations"] is False


def _create_jwks_profile(url: str, *extra: str) -> tuple[Any, str]:
    return run(
        "profile",
        "create",
        "--name",
        "Hosted IdP",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        url,
        "--map",
        *MAPPING,
        *extra,
    )


def test_create_jwks_profile_fetches_the_url_once_and_lists_its_keys(issuer):
    issuer.extra_keys = [{"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"}]
    data, notes = _create_jwks_profile(issuer.url, "--jit-organizations")

    profile = TrustedAuthTokenProfile.objects.get(profile_id=data["profile_id"])
    assert profile.public_key_type == "JWK" and profile.jwks_url == issuer.url
    assert profile.can_jit_create_organizations is True
    assert data["jwks_url"] == issuer.url and data["pem_keys"] == []
    assert issuer.requests == 1
    assert f"JWKS fetched: 1 usable key(s): {issuer.signer.kid} (RSA RS256)." in notes
    assert "Dropped from the JWKS: shared-secret:" in notes
    # The keys fetched are the ones the first attest uses: no second fetch.
    assert dry_run_token(data["profile_id"], issuer.signer.sign(default_claims())).passed
    assert issuer.requests == 1


def test_create_jwks_profile_with_no_fetch_does_not_fetch(issuer):
    data, notes = _create_jwks_profile(issuer.url, "--no-fetch")
    assert data["jwks_url"] == issuer.url
    assert issuer.requests == 0 and "JWKS fetched" not in notes


def test_a_jwks_url_that_fails_to_fetch_creates_nothing_and_says_why(issuer):
    issuer.down = True
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        issuer.url,
        "--map",
        *MAPPING,
    )
    assert error == (
        "JWKS URL answered HTTP 503 (nothing was created; --no-fetch creates it without fetching)"
    )
    issuer.down = False
    issuer.keys = []
    issuer.extra_keys = [{"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"}]
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        issuer.url,
        "--map",
        *MAPPING,
    )
    assert error.startswith("The JWKS has no usable signing key (shared-secret: kty 'oct'")
    assert not TrustedAuthTokenProfile.objects.exists()


def test_update_to_a_jwks_url_fetches_it_unless_no_fetch(create_pem_profile, issuer):
    profile_id = create_pem_profile()["profile_id"]
    data, _ = run(
        "profile", "update", "--profile-id", profile_id, "--jwks-url", issuer.url, "--no-fetch"
    )
    assert data["jwks_url"] == issuer.url and issuer.requests == 0
    issuer.down = True
    _, error = run_failing(
        "profile", "update", "--profile-id", profile_id, "--jwks-url", issuer.url + "?v=2"
    )
    assert error == (
        "JWKS URL answered HTTP 503 (nothing was changed; --no-fetch changes it without fetching)"
    )
    assert TrustedAuthTokenProfile.objects.get().jwks_url == issuer.url


def test_jwks_url_must_be_https():
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        "http://issuer.test/jwks.json",
        "--map",
        *MAPPING,
    )
    assert "https" in error
    assert not TrustedAuthTokenProfile.objects.exists()


def test_jwks_url_on_a_private_network_is_refused_unless_allowed(settings):
    settings.TRUSTED_AUTH = {**settings.TRUSTED_AUTH, "JWKS_ALLOW_PRIVATE_NETWORKS": False}
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        "https://127.0.0.1/jwks.json",
        "--map",
        *MAPPING,
    )
    assert "non-public address" in error
    assert not TrustedAuthTokenProfile.objects.exists()


def test_a_key_source_is_required_and_only_one(write_pem, signer):
    base = [
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--map",
        *MAPPING,
    ]
    _, error = run_failing(*base)
    assert "--jwks-url" in error and "--pem-file" in error
    _, error = run_failing(
        *base,
        "--jwks-url",
        "https://issuer.test/jwks.json",
        "--pem-file",
        write_pem(signer.public_pem),
    )
    assert "not allowed with" in error
    assert not TrustedAuthTokenProfile.objects.exists()


def test_up_to_five_pem_keys_and_a_sixth_is_refused(create_pem_profile, write_pem):
    pems = [SigningPair.ec().public_pem for _ in range(5)]
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--map",
        *MAPPING,
        "--pem-file",
        *[write_pem(pem) for pem in [*pems, SigningPair.ec().public_pem]],
    )
    assert "at most 5 PEM keys" in error
    assert not TrustedAuthTokenProfile.objects.exists()

    data = create_pem_profile(pems=pems)
    assert len(data["pem_keys"]) == 5
    _, error = run_failing(
        "profile",
        "add-pem",
        "--profile-id",
        data["profile_id"],
        "--pem-file",
        write_pem(SigningPair.ec().public_pem),
    )
    assert "already holds 5 PEM keys" in error
    assert ProfilePublicKey.objects.filter(profile__profile_id=data["profile_id"]).count() == 5


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_a_private_key_is_refused_with_a_message(create_pem_profile, signer, write_pem, fmt):
    path = write_pem(private_pem(signer.private_key, fmt))
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--pem-file",
        path,
        "--map",
        *MAPPING,
    )
    assert error.startswith(f"{path}: this is a PRIVATE key")
    assert "openssl pkey -in key.pem -pubout" in error
    assert not TrustedAuthTokenProfile.objects.exists()


def test_rsa_1024_is_refused(create_pem_profile, rsa_1024):
    with pytest.raises(CommandError, match="the RSA key has 1024 bits; at least 2048"):
        create_pem_profile(pems=[public_pem(rsa_1024)])
    assert not TrustedAuthTokenProfile.objects.exists()


def test_a_certificate_is_refused(create_pem_profile, signer):
    with pytest.raises(CommandError, match="this is a certificate, not a public key"):
        create_pem_profile(pems=[certificate_pem(signer.private_key)])
    assert not TrustedAuthTokenProfile.objects.exists()


def test_a_key_that_fits_none_of_the_algorithms_is_refused(create_pem_profile):
    ed_pem = public_pem(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(CommandError, match=r"Ed25519 key fits none of .*allow one of EdDSA"):
        create_pem_profile(pems=[ed_pem])
    data = create_pem_profile("--algorithms", "EdDSA", pems=[ed_pem])
    assert data["pem_keys"][0]["key_type"] == "Ed25519"


def test_the_same_key_twice_is_refused(create_pem_profile, signer):
    with pytest.raises(CommandError, match="PEM key 2 is the same key as an earlier one"):
        create_pem_profile(pems=[signer.public_pem, signer.public_pem])


def test_an_unreadable_pem_file(tmp_path):
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--pem-file",
        str(tmp_path / "missing.pem"),
        "--map",
        *MAPPING,
    )
    assert error.startswith("cannot read PEM file") and "missing.pem" in error


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (["email=email"], "The mapping needs token_id."),
        (["email=email", "token_id=jti", "nickname=nick"], "Unknown mapping keys: nickname."),
        (["email=email", "token_id=.jti"], "must be a claim name or a dotted path"),
        (["email", "token_id=jti"], "expected KEY=CLAIM"),
        (["email=email", "token_id=jti", "email=mail"], "--map names email twice"),
    ],
)
def test_attribute_mapping_is_validated(create_pem_profile, write_pem, signer, mapping, message):
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--pem-file",
        write_pem(signer.public_pem),
        "--map",
        *mapping,
    )
    assert message in error
    assert not TrustedAuthTokenProfile.objects.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--algorithms", "HS256"], "invalid choice: 'HS256'"),
        (["--leeway", "301"], "leeway_seconds: Ensure this value is less than or equal to 300."),
        (["--max-lifetime", "0"], "max_token_lifetime_seconds: Ensure this value is greater"),
        (["--replay-policy", "sometimes"], "invalid choice: 'sometimes'"),
    ],
)
def test_policy_settings_are_validated(create_pem_profile, extra, message):
    with pytest.raises(CommandError, match=message):
        create_pem_profile(*extra)
    assert not TrustedAuthTokenProfile.objects.exists()


def test_an_issuer_is_required(write_pem, signer):
    _, error = run_failing(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        "",
        "--audience",
        AUDIENCE,
        "--pem-file",
        write_pem(signer.public_pem),
        "--map",
        *MAPPING,
    )
    assert error == "issuer: This field cannot be blank."


# --- public key types -------------------------------------------------------------------------


def _two_public_keys() -> str:
    return SigningPair.rsa().public_pem + SigningPair.rsa().public_pem


@pytest.mark.parametrize(
    ("make_pem", "kind"),
    [
        (
            lambda: public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            rsa.RSAPublicKey,
        ),
        (
            lambda: (
                rsa.generate_private_key(public_exponent=65537, key_size=3072)
                .public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
                .decode()
            ),
            rsa.RSAPublicKey,
        ),
        (lambda: public_pem(ec.generate_private_key(ec.SECP256R1())), ec.EllipticCurvePublicKey),
        (lambda: public_pem(ec.generate_private_key(ec.SECP384R1())), ec.EllipticCurvePublicKey),
        (lambda: public_pem(ec.generate_private_key(ec.SECP521R1())), ec.EllipticCurvePublicKey),
        (lambda: public_pem(ed25519.Ed25519PrivateKey.generate()), ed25519.Ed25519PublicKey),
        (lambda: public_pem(ed448.Ed448PrivateKey.generate()), ed448.Ed448PublicKey),
    ],
)
def test_accepted_public_keys(make_pem, kind):
    assert isinstance(validate_public_key_pem(make_pem()), kind)


@pytest.mark.parametrize(
    ("make_pem", "message"),
    [
        (
            lambda: private_pem(
                ec.generate_private_key(ec.SECP256R1()),
                serialization.PrivateFormat.TraditionalOpenSSL,
            ),
            "PRIVATE key",
        ),
        (
            lambda: private_pem(
                ec.generate_private_key(ec.SECP256R1()),
                encryption=serialization.BestAvailableEncryption(b"pw"),
            ),
            "PRIVATE key",
        ),
        (lambda: public_pem(dsa.generate_private_key(key_size=2048)), "DSA keys are not supported"),
        (
            lambda: public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "1024 bits",
        ),
        (
            lambda: public_pem(ec.generate_private_key(ec.SECP256K1())),
            "EC curve secp256k1 is not supported",
        ),
        (lambda: public_pem(x25519.X25519PrivateKey.generate()), "X25519"),
        (lambda: "hello", "not a PEM public key"),
        (lambda: "", "empty"),
        (
            lambda: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "could not be parsed",
        ),
        (_two_public_keys, "holds 2 blocks"),
        (lambda: "x" * 20000, "longer than"),
    ],
)
def test_refused_public_keys(make_pem, message):
    with pytest.raises(InvalidProfile, match=message) as raised:
        validate_public_key_pem(make_pem())
    assert raised.value.error_type == "invalid_profile"
    assert raised.value.field == "pem_keys"


# --- profile list, show, delete, update -------------------------------------------------------


def test_list_show_and_delete(create_pem_profile, signer, issuer):
    pem = create_pem_profile()
    jwks, _ = run(
        "profile",
        "create",
        "--name",
        "Another",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        issuer.url,
        "--map",
        *MAPPING,
    )

    listed, _ = run("profile", "list")
    assert [p["profile_id"] for p in listed] == [jwks["profile_id"], pem["profile_id"]]
    assert "public_key_pem" not in listed[1]["pem_keys"][0]

    shown, _ = run("profile", "show", "--profile-id", pem["profile_id"])
    assert shown["pem_keys"][0]["public_key_pem"] == signer.public_pem
    assert {k: v for k, v in shown.items() if k != "pem_keys"} == {
        k: v for k, v in pem.items() if k != "pem_keys"
    }

    deleted, _ = run("profile", "delete", "--profile-id", pem["profile_id"])
    assert deleted["deleted"] is True and deleted["profile"]["profile_id"] == pem["profile_id"]
    assert not TrustedAuthTokenProfile.objects.filter(profile_id=pem["profile_id"]).exists()
    assert not ProfilePublicKey.objects.exists()
    listed, _ = run("profile", "list")
    assert [p["profile_id"] for p in listed] == [jwks["profile_id"]]
    for action in ("show", "delete"):
        _, error = run_failing("profile", action, "--profile-id", pem["profile_id"])
        assert error == f"no trusted auth token profile {pem['profile_id']!r}"


def test_update_changes_only_what_is_given(create_pem_profile):
    created = create_pem_profile("--jit")

    data, _ = run(
        "profile",
        "update",
        "--profile-id",
        created["profile_id"],
        "--name",
        "Renamed",
        "--no-jit",
        "--map",
        "email=user.email",
        "token_id=jti",
        "--algorithms",
        "RS512",
        "--leeway",
        "0",
    )

    profile = TrustedAuthTokenProfile.objects.get(profile_id=created["profile_id"])
    assert profile.name == "Renamed" and data["name"] == "Renamed"
    assert profile.can_jit_provision is False
    assert profile.attribute_mapping == {"email": "user.email", "token_id": "jti"}
    assert profile.algorithms == ["RS512"]
    assert profile.leeway_seconds == 0
    assert (profile.issuer, profile.audience) == (ISSUER, AUDIENCE)
    assert profile.pem_keys.count() == 1
    assert data["pem_keys"] == created["pem_keys"]


def test_update_switches_between_jwks_and_pem(create_pem_profile, issuer, write_pem):
    created = create_pem_profile()
    profile_id = created["profile_id"]

    data, _ = run("profile", "update", "--profile-id", profile_id, "--jwks-url", issuer.url)
    assert data["public_key_type"] == "JWK" and data["pem_keys"] == []
    assert not ProfilePublicKey.objects.exists()

    ec_pair = SigningPair.ec()
    data, _ = run(
        "profile", "update", "--profile-id", profile_id, "--pem-file", write_pem(ec_pair.public_pem)
    )
    assert data["public_key_type"] == "PEM" and data["jwks_url"] is None
    assert [k["key_type"] for k in data["pem_keys"]] == ["EC P-256"]
    assert issuer.requests == 1  # the switch to the JWKS URL fetched it once


def test_update_is_refused_when_it_would_break_the_profile(create_pem_profile):
    created = create_pem_profile()
    profile_id = created["profile_id"]

    _, error = run_failing("profile", "update", "--profile-id", profile_id, "--algorithms", "ES256")
    assert "RSA 2048 key fits none of the profile's algorithms (ES256)" in error
    _, error = run_failing("profile", "update", "--profile-id", profile_id, "--map", "email=e")
    assert "token_id" in error
    _, error = run_failing("profile", "update", "--profile-id", profile_id)
    assert error.startswith("nothing to change")
    _, error = run_failing("profile", "update", "--profile-id", "ttp-nope", "--name", "x")
    assert error == "no trusted auth token profile 'ttp-nope'"

    profile = TrustedAuthTokenProfile.objects.get(profile_id=profile_id)
    assert profile.algorithms == ["RS256", "ES256"]
    assert profile.attribute_mapping["token_id"] == "jti"


# --- add-pem, remove-pem ----------------------------------------------------------------------


def test_add_pem_and_remove_pem_rotate_the_issuer_key(
    create_pem_profile, write_pem, signer, token_factory
):
    created = create_pem_profile()
    profile_id = created["profile_id"]
    old_key_id = created["pem_keys"][0]["key_id"]
    new_pair = SigningPair.ec()

    added, _ = run(
        "profile",
        "add-pem",
        "--profile-id",
        profile_id,
        "--pem-file",
        write_pem(new_pair.public_pem),
    )
    assert added["added_key"]["key_type"] == "EC P-256"
    assert [k["key_id"] for k in added["profile"]["pem_keys"]] == [
        old_key_id,
        added["added_key"]["key_id"],
    ]
    for key in (signer, new_pair):
        result, _ = run(
            "profile", "test", "--profile-id", profile_id, "--token", token_factory(key=key)
        )
        assert result["passed"] is True

    removed, _ = run("profile", "remove-pem", "--profile-id", profile_id, "--key-id", old_key_id)
    assert removed["removed_key"]["key_id"] == old_key_id
    assert [k["key_id"] for k in removed["profile"]["pem_keys"]] == [added["added_key"]["key_id"]]
    out, error = run_failing(
        "profile", "test", "--profile-id", profile_id, "--token", token_factory()
    )
    assert "no configured PEM key fits algorithm RS256" in error
    assert json.loads(out)["passed"] is False


def test_add_pem_refusals(create_pem_profile, write_pem, signer, issuer):
    profile_id = create_pem_profile()["profile_id"]

    _, error = run_failing(
        "profile", "add-pem", "--profile-id", profile_id, "--pem-file", write_pem(signer.public_pem)
    )
    assert "already holds this key as pem-" in error
    _, error = run_failing(
        "profile",
        "add-pem",
        "--profile-id",
        profile_id,
        "--pem-file",
        write_pem(private_pem(signer.private_key)),
    )
    assert "this is a PRIVATE key" in error
    jwks, _ = run(
        "profile",
        "create",
        "--name",
        "x",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        issuer.url,
        "--map",
        *MAPPING,
    )
    _, error = run_failing(
        "profile",
        "add-pem",
        "--profile-id",
        jwks["profile_id"],
        "--pem-file",
        write_pem(SigningPair.ec().public_pem),
    )
    assert "trusts a JWKS URL" in error
    assert ProfilePublicKey.objects.count() == 1


def test_remove_pem_refusals(create_pem_profile):
    created = create_pem_profile()
    profile_id, key_id = created["profile_id"], created["pem_keys"][0]["key_id"]

    _, error = run_failing("profile", "remove-pem", "--profile-id", profile_id, "--key-id", key_id)
    assert "is the last PEM key" in error
    _, error = run_failing(
        "profile", "remove-pem", "--profile-id", profile_id, "--key-id", "pem-nope"
    )
    assert "has no PEM key 'pem-nope'" in error
    assert ProfilePublicKey.objects.filter(key_id=key_id).exists()


# --- profile test -----------------------------------------------------------------------------


def test_profile_test_with_a_valid_token_has_no_side_effects(pem_profile, token_factory):
    token = token_factory(sub="ext-42", email="grace@example.com")

    result, notes = run("profile", "test", "--profile-id", pem_profile.profile_id, "--token", token)

    assert result["passed"] is True and result["error"] is None
    assert result["failed_check"] is None
    assert [c["name"] for c in result["checks"]] == [
        "size",
        "header",
        "signature and registered claims",
        "claims and mapping",
        "replay",
    ]
    assert all(c["passed"] for c in result["checks"])
    assert result["header"]["alg"] == "RS256"
    assert result["claims"]["sub"] == "ext-42"
    assert result["attributes"]["email"] == "grace@example.com"
    assert result["attributes"]["token_id"] == result["claims"]["jti"]
    assert "passes all 5 checks" in notes
    assert not Session.objects.exists()
    assert not AuditEvent.objects.exists()

    # Nothing was consumed: the same token attests once, and then a dry run sees the replay.
    attest(AttestRequest(profile_id=pem_profile.profile_id, token=token))
    out, error = run_failing(
        "profile", "test", "--profile-id", pem_profile.profile_id, "--token", token
    )
    assert "fails the 'replay' check" in error and "trusted_token_replayed" in error
    assert json.loads(out)["checks"][-1]["passed"] is False


def test_profile_test_with_an_expired_token_names_the_failed_check(pem_profile, token_factory):
    now = int(time.time())
    token = token_factory(iat=now - 1000, exp=now - 600)

    out, error = run_failing(
        "profile", "test", "--profile-id", pem_profile.profile_id, "--token", token
    )

    assert error.startswith("the token fails the 'signature and registered claims' check")
    assert "expired" in error and "jwt_invalid_claims" in error
    result = json.loads(out)
    assert result["passed"] is False
    assert result["failed_check"] == "signature and registered claims"
    assert result["error"]["error_type"] == "jwt_invalid_claims"
    assert [(c["name"], c["passed"]) for c in result["checks"]] == [
        ("size", True),
        ("header", True),
        ("signature and registered claims", False),
    ]
    assert result["claims"] is None and result["attributes"] is None
    assert result["unverified_claims"]["exp"] == now - 600
    assert not AuditEvent.objects.exists()


def test_profile_test_against_a_jwks_profile(issuer, token_factory):
    created, _ = run(
        "profile",
        "create",
        "--name",
        "Hosted",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--jwks-url",
        issuer.url,
        "--map",
        *MAPPING,
    )

    result, _ = run(
        "profile",
        "test",
        "--profile-id",
        created["profile_id"],
        "--token",
        token_factory(key=issuer.signer),
    )

    assert result["passed"] is True
    assert result["header"]["kid"] == issuer.signer.kid
    assert issuer.requests == 1


def test_profile_test_reads_the_token_from_stdin(pem_profile, token_factory):
    result, _ = run(
        "profile",
        "test",
        "--profile-id",
        pem_profile.profile_id,
        "--token",
        "-",
        stdin=token_factory() + "\n",
    )
    assert result["passed"] is True


def test_profile_test_verbosity(pem_profile, token_factory):
    _, quiet = run(
        "profile",
        "test",
        "--profile-id",
        pem_profile.profile_id,
        "--token",
        token_factory(),
        "-v",
        "0",
    )
    _, detailed = run(
        "profile",
        "test",
        "--profile-id",
        pem_profile.profile_id,
        "--token",
        token_factory(),
        "-v",
        "2",
    )
    assert quiet == ""
    assert "PASS  signature and registered claims" in detailed


# --- secrets ----------------------------------------------------------------------------------


def test_secret_create_list_revoke(settings):
    project_id = settings.TRUSTED_AUTH["PROJECT_ID"]

    created, notes = run("secret", "create", "--description", "billing service")
    assert created.keys() == {"secret_id", "secret", "created_at"}
    assert "not shown again" in notes
    assert authenticate_secret(project_id, created["secret"]).secret_id == created["secret_id"]
    other, _ = run("secret", "create")

    listed, _ = run("secret", "list")
    assert [s["secret_id"] for s in listed] == [other["secret_id"], created["secret_id"]]
    assert listed[1] == {
        "secret_id": created["secret_id"],
        "last_four": created["secret"][-4:],
        "description": "billing service",
        "created_at": created["created_at"],
        "last_used_at": listed[1]["last_used_at"],
        "revoked_at": None,
    }
    assert listed[1]["last_used_at"] is not None
    assert created["secret"] not in json.dumps(listed)

    revoked, _ = run("secret", "revoke", created["secret_id"])
    assert revoked["secret_id"] == created["secret_id"] and revoked["revoked_at"] is not None
    with pytest.raises(Unauthorized):
        authenticate_secret(project_id, created["secret"])
    assert authenticate_secret(project_id, other["secret"]).secret_id == other["secret_id"]


def test_secret_revoke_by_option_and_warning_when_none_is_left(settings):
    created, _ = run("secret", "create")

    revoked, warning = run("secret", "revoke", "--secret-id", created["secret_id"])

    assert revoked["revoked_at"] is not None
    assert ApiSecret.objects.get(secret_id=created["secret_id"]).revoked_at is not None
    assert "No live API secret remains" in warning


def test_secret_revoke_errors():
    _, error = run_failing("secret", "revoke")
    assert error == "name the secret to revoke: SECRET_ID or --secret-id"
    assert "no API secret 'secret-nope'" in run_failing("secret", "revoke", "secret-nope")[1]


def test_verbosity_zero_prints_json_only():
    created, notes = run("secret", "create", verbosity=0)
    assert notes == ""
    assert created["secret"].startswith("secret-")


# --- the command line itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["secret", "profile", "GROUP"]),
        (["secret"], ["create", "list", "revoke"]),
        (
            ["profile"],
            ["create", "list", "show", "update", "delete", "add-pem", "remove-pem", "test"],
        ),
        (
            ["profile", "create"],
            ["--jwks-url URL | --pem-file PATH", "--map KEY=CLAIM", "example:"],
        ),
    ],
)
def test_help(args, expected):
    completed = subprocess.run(
        [sys.executable, "manage.py", "trusted_auth", *args, "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # Wide enough for one usage line per group: from Python 3.13 on, argparse wraps a
        # mutually exclusive group across lines when it does not fit the terminal.
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert completed.returncode == 0, completed.stderr
    for text in expected:
        assert text in completed.stdout


def test_the_service_refuses_a_mapping_that_is_not_an_object(signer):
    with pytest.raises(InvalidProfile, match="must be an object") as raised:
        create_profile(
            name="x",
            issuer=ISSUER,
            audience=AUDIENCE,
            pem_keys=[signer.public_pem],
            attribute_mapping=["email", "jti"],
        )
    assert raised.value.field == "attribute_mapping"
    assert not TrustedAuthTokenProfile.objects.exists()
