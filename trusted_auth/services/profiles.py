"""Trusted auth token profiles: the rules of DESIGN.md §3, shared by the CLI and the admin.

A profile trusts one issuer: tokens with exactly its ``issuer`` and ``audience``, signed with a key
from its ``jwks_url`` (``JWK``) or from one of its 1..5 PEM public keys (``PEM``), with one of its
asymmetric ``algorithms``. Every change goes through this module, which refuses what could never
work or would be unsafe to trust: private keys pasted by mistake, certificates, short RSA keys,
keys that fit none of the profile's algorithms, a JWKS URL we would never fetch, a mapping
without ``email`` and ``token_id``. Refusals raise ``InvalidProfile`` (or ``InvalidJwksUrl``) with
a message meant for the person configuring the profile.

``dry_run_token`` is the dry run behind ``manage.py trusted_auth profile test``: every check of
DESIGN.md §4 with its outcome, no session, no replay marker, no audit event.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects

from trusted_auth.errors import (
    BadRequest,
    InvalidJwksUrl,
    InvalidProfile,
    JwksUnavailable,
    ProfileNotFound,
    TrustedAuthError,
)
from trusted_auth.internal.jwk import EC_CURVE_BY_KEY, public_key_fits_algorithm
from trusted_auth.internal.jwks_http import FetchedJwks, validate_jwks_url
from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile
from trusted_auth.models.profiles import (
    MAX_PEM_KEYS,
    SUPPORTED_ALGORITHMS,
    validate_algorithms,
    validate_attribute_mapping,
)
from trusted_auth.timeutil import rfc3339

from .issuer_keys import fetch_counted
from .verification import Trace, verify_external_token

MIN_RSA_KEY_BITS = 2048
# A 16384-bit RSA key in PEM is about 2.8 KiB; anything far larger is not one public key.
MAX_PEM_CHARACTERS = 16 * 1024
SUPPORTED_KEY_TYPES = "RSA (2048 bits or more), EC P-256/P-384/P-521 or Ed25519"

_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_PUBLIC_KEY_LABELS = ("PUBLIC KEY", "RSA PUBLIC KEY")
_UNSUPPORTED_KEY_KINDS: tuple[tuple[type, str], ...] = (
    (dsa.DSAPublicKey, "DSA"),
    (ed448.Ed448PublicKey, "Ed448"),
    (x25519.X25519PublicKey, "X25519 (a key-agreement key)"),
    (x448.X448PublicKey, "X448 (a key-agreement key)"),
)
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "issuer",
        "audience",
        "attribute_mapping",
        "jwks_url",
        "pem_keys",
        "can_jit_provision",
        "can_jit_create_organizations",
        "algorithms",
        "leeway_seconds",
        "max_token_lifetime_seconds",
        "replay_policy",
        "link_policy",
        "require_verified_email",
    }
)
_PLAIN_FIELDS = (
    "name",
    "issuer",
    "audience",
    "can_jit_provision",
    "can_jit_create_organizations",
    "leeway_seconds",
    "max_token_lifetime_seconds",
    "replay_policy",
    "link_policy",
    "require_verified_email",
)


# Lookup --------------------------------------------------------------------------------------


def get_profile(profile_id: Any, *, for_update: bool = False) -> TrustedAuthTokenProfile:
    """The profile with this public id, its PEM keys prefetched. Raises ``ProfileNotFound``.

    ``for_update`` locks the row (inside a transaction) before its keys are read.
    """
    if not isinstance(profile_id, str) or not profile_id:
        raise BadRequest("profile_id is required")
    if "\x00" in profile_id:  # no id holds one, and PostgreSQL refuses to compare it
        raise ProfileNotFound("no trusted auth token profile with a NUL in its id")
    profiles = TrustedAuthTokenProfile.objects.all()
    if for_update:
        profiles = profiles.select_for_update()
    profile = profiles.filter(profile_id=profile_id).first()
    if profile is None:
        raise ProfileNotFound(f"no trusted auth token profile {profile_id[:80]!r}")
    # Only a PEM profile has keys to read: reading a JWKS profile (every attest) saves the
    # empty query. An update (for_update) reads them anyway, to replace or delete them.
    is_pem = profile.public_key_type == TrustedAuthTokenProfile.KeyType.PEM
    prefetch_related_objects(
        [profile],
        Prefetch(
            "pem_keys",
            queryset=ProfilePublicKey.objects.all()
            if is_pem or for_update
            else ProfilePublicKey.objects.none(),
        ),
    )
    return profile


def list_profiles() -> list[TrustedAuthTokenProfile]:
    """Every profile, by name, with PEM keys prefetched."""
    return list(TrustedAuthTokenProfile.objects.prefetch_related("pem_keys").order_by("name", "id"))


# PEM public keys -----------------------------------------------------------------------------


def validate_public_key_pem(pem: str | bytes) -> PublicKeyTypes:
    """Load one PEM public key we are willing to verify signatures with.

    Accepts a ``PUBLIC KEY`` (SubjectPublicKeyInfo) or ``RSA PUBLIC KEY`` (PKCS#1) block holding
    RSA of at least 2048 bits, EC on P-256, P-384 or P-521, or Ed25519. Refuses private keys,
    certificates, several blocks, other key types and anything unparsable, each with a message
    that says what to do instead. Raises ``InvalidProfile``.
    """
    if isinstance(pem, bytes):
        try:
            pem = pem.decode("ascii")
        except UnicodeDecodeError as e:
            raise _key_error("the PEM public key is not ASCII text") from e
    if not isinstance(pem, str) or not pem.strip():
        raise _key_error("the PEM public key is empty")
    if len(pem) > MAX_PEM_CHARACTERS:
        raise _key_error(
            f"the PEM text is longer than {MAX_PEM_CHARACTERS} characters; "
            "give exactly one public key"
        )
    labels = _PEM_BEGIN.findall(pem)
    if any("PRIVATE KEY" in label for label in labels):
        raise _key_error(
            "this is a PRIVATE key: a profile holds only the issuer's PUBLIC key. Keep the private "
            "key with the issuer and give its public half (openssl pkey -in key.pem -pubout)"
        )
    if any("CERTIFICATE" in label for label in labels):
        raise _key_error(
            "this is a certificate, not a public key; extract its public key "
            "(openssl x509 -in cert.pem -pubkey -noout) and give that"
        )
    if not labels:
        raise _key_error("not a PEM public key: expected a '-----BEGIN PUBLIC KEY-----' block")
    if len(labels) > 1:
        raise _key_error(f"the PEM text holds {len(labels)} blocks; give one public key at a time")
    if labels[0] not in _PUBLIC_KEY_LABELS:
        raise _key_error(
            f"a PEM '{labels[0]}' block is not a public key; expected '-----BEGIN PUBLIC KEY-----'"
        )
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise _key_error("the PEM public key could not be parsed (damaged or truncated?)") from e
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_KEY_BITS:
            raise _key_error(
                f"the RSA key has {key.key_size} bits; at least {MIN_RSA_KEY_BITS} are required"
            )
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_CURVE_BY_KEY:
            raise _key_error(
                f"EC curve {key.curve.name} is not supported; use P-256, P-384 or P-521"
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    kind = next(
        (name for cls, name in _UNSUPPORTED_KEY_KINDS if isinstance(key, cls)), type(key).__name__
    )
    raise _key_error(f"{kind} keys are not supported; use {SUPPORTED_KEY_TYPES}")


def describe_public_key(key: PublicKeyTypes) -> str:
    """A short name for a key's type and size: ``RSA 2048``, ``EC P-256``, ``Ed25519``."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {EC_CURVE_BY_KEY.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__


def public_key_fingerprint(key: PublicKeyTypes) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, hex: the same key always has the same one."""
    return hashlib.sha256(_spki(key, serialization.Encoding.DER)).hexdigest()


def _spki(key: PublicKeyTypes, encoding: serialization.Encoding) -> bytes:
    return key.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_error(message: str) -> InvalidProfile:
    return InvalidProfile(message, field="pem_keys")


def _algorithms_for(key: PublicKeyTypes) -> list[str]:
    return [alg for alg in SUPPORTED_ALGORITHMS if public_key_fits_algorithm(key, alg)]


def _check_keys_fit(keys: Iterable[PublicKeyTypes], algorithms: Sequence[str]) -> None:
    """Refuse a key no allowed algorithm can use: it would never verify anything."""
    for key in keys:
        if not any(public_key_fits_algorithm(key, alg) for alg in algorithms):
            raise InvalidProfile(
                f"the {describe_public_key(key)} key fits none of the profile's algorithms "
                f"({', '.join(algorithms)}); allow one of {', '.join(_algorithms_for(key))}",
                field="algorithms",
            )


def _load_pem_keys(pems: Sequence[str]) -> list[PublicKeyTypes]:
    if not pems:
        raise InvalidProfile("a PEM profile needs at least one public key", field="pem_keys")
    if len(pems) > MAX_PEM_KEYS:
        raise InvalidProfile(
            f"a profile holds at most {MAX_PEM_KEYS} PEM keys, not {len(pems)}", field="pem_keys"
        )
    keys: list[PublicKeyTypes] = []
    seen: set[str] = set()
    for number, pem in enumerate(pems, start=1):
        try:
            key = validate_public_key_pem(pem)
        except InvalidProfile as e:
            prefix = f"PEM key {number}: " if len(pems) > 1 else ""
            raise InvalidProfile(prefix + e.message, field="pem_keys") from e
        fingerprint = public_key_fingerprint(key)
        if fingerprint in seen:
            raise InvalidProfile(
                f"PEM key {number} is the same key as an earlier one", field="pem_keys"
            )
        seen.add(fingerprint)
        keys.append(key)
    return keys


def _load_stored(row: ProfilePublicKey) -> Any:
    """A stored key, or None when the row no longer loads (written around this module)."""
    try:
        return serialization.load_pem_public_key(row.public_key_pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def _stored_keys(profile: TrustedAuthTokenProfile) -> list[tuple[ProfilePublicKey, Any]]:
    return [(row, _load_stored(row)) for row in profile.pem_keys.all()]


def normalised_public_key_pem(pem: str | bytes) -> str:
    """``validate_public_key_pem``, then the key as a ``PUBLIC KEY`` (SubjectPublicKeyInfo)
    PEM block: the form every stored key takes."""
    return _spki(validate_public_key_pem(pem), serialization.Encoding.PEM).decode()


def check_pem_keys(pems: Sequence[str], algorithms: Sequence[str]) -> None:
    """The rules for a PEM profile's whole key list: 1..5 keys that parse, no duplicates, each
    usable with one of ``algorithms``. Raises ``InvalidProfile``."""
    _check_keys_fit(_load_pem_keys(pems), algorithms)


# Field validation ----------------------------------------------------------------------------


def validate_issuer(issuer: Any) -> None:
    """An ``iss`` as the IdP writes it: an https URL, or a plain string that is not a URL.

    Either is matched exactly, so surrounding whitespace and control characters (which no
    IdP puts in ``iss``) are refused, and so is a URL with another scheme than https.
    Raises ``InvalidProfile``.
    """
    if not isinstance(issuer, str) or not issuer.strip():
        raise InvalidProfile(
            "the issuer is required: the exact iss the IdP puts in its tokens", field="issuer"
        )
    if issuer != issuer.strip():
        raise InvalidProfile(
            "the issuer has leading or trailing spaces; tokens are matched on the exact iss",
            field="issuer",
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in issuer):
        raise InvalidProfile("the issuer contains control characters", field="issuer")
    if "://" not in issuer and not issuer.lower().startswith(("http:", "https:")):
        return
    try:
        parts = urlsplit(issuer)
        host = parts.hostname
    except ValueError as e:
        raise InvalidProfile(f"the issuer is not a valid URL: {e}", field="issuer") from e
    if parts.scheme != "https":
        raise InvalidProfile(
            "an issuer URL must use https (or give the plain string the IdP uses as iss)",
            field="issuer",
        )
    if not host or " " in issuer:
        raise InvalidProfile("the issuer URL has no valid host", field="issuer")
    if parts.username is not None or parts.password is not None:
        raise InvalidProfile("the issuer URL must not carry credentials", field="issuer")


def clean_attribute_mapping(mapping: Any) -> dict[str, str]:
    """The mapping with its claims stripped, or ``InvalidProfile`` on ``attribute_mapping``."""
    return _clean_mapping(mapping)


def clean_algorithms(algorithms: Any) -> list[str]:
    """The allowed algorithms without duplicates, or ``InvalidProfile`` on ``algorithms``."""
    return _clean_algorithms(algorithms)


def preview_jwks(url: Any) -> FetchedJwks:
    """Check a JWKS URL and fetch it once through the safe fetcher: its usable keys and the
    dropped ones with why. Raises ``InvalidProfile``, ``InvalidJwksUrl`` or ``JwksUnavailable``.
    """
    _check_jwks_url(url)
    return fetch_counted(url)


def _clean_mapping(mapping: Any) -> dict[str, str]:
    try:
        validate_attribute_mapping(mapping)
    except ValidationError as e:
        raise InvalidProfile(" ".join(e.messages), field="attribute_mapping") from e
    return {key: claim.strip() for key, claim in mapping.items()}


def _clean_algorithms(algorithms: Any) -> list[str]:
    if isinstance(algorithms, tuple):
        algorithms = list(algorithms)
    try:
        validate_algorithms(algorithms)
    except ValidationError as e:
        raise InvalidProfile(" ".join(e.messages), field="algorithms") from e
    return list(dict.fromkeys(algorithms))


def _check_jwks_url(url: Any) -> None:
    """``validate_jwks_url``'s rules (https, no credentials, no private network); no fetch."""
    if not isinstance(url, str) or not url:
        raise InvalidProfile("a JWKS profile needs a JWKS URL", field="jwks_url")
    try:
        validate_jwks_url(url)
    except JwksUnavailable as e:
        # The host does not resolve: at configuration time that is a bad URL, not an outage.
        raise InvalidJwksUrl(e.message) from e


def _full_clean(profile: TrustedAuthTokenProfile) -> None:
    try:
        profile.full_clean()
    except ValidationError as e:
        errors = e.message_dict if hasattr(e, "error_dict") else {"__all__": e.messages}
        parts = [
            " ".join(messages) if field == "__all__" else f"{field}: {' '.join(messages)}"
            for field, messages in errors.items()
        ]
        field = next(iter(errors)) if len(errors) == 1 else None
        raise InvalidProfile("; ".join(parts), field=None if field == "__all__" else field) from e


# Create, update, delete ----------------------------------------------------------------------


def _save(profile: TrustedAuthTokenProfile, new_pems: Sequence[str] | None) -> None:
    """Validate ``profile`` as it now stands and save it; ``new_pems`` replaces its PEM keys."""
    if profile.issuer:  # an empty one is full_clean's "cannot be blank"
        validate_issuer(profile.issuer)
    profile.attribute_mapping = _clean_mapping(profile.attribute_mapping)
    profile.algorithms = _clean_algorithms(profile.algorithms)
    keys: list[PublicKeyTypes] = []
    if profile.public_key_type == TrustedAuthTokenProfile.KeyType.JWK:
        _check_jwks_url(profile.jwks_url)
    elif new_pems is not None:
        keys = _load_pem_keys(new_pems)
        _check_keys_fit(keys, profile.algorithms)
    else:
        stored = _stored_keys(profile)
        broken = [row.key_id for row, key in stored if key is None]
        if broken:
            raise InvalidProfile(
                f"stored PEM key {broken[0]} no longer loads; remove it "
                "(profile remove-pem) or replace the keys",
                field="pem_keys",
            )
        if not stored:
            raise InvalidProfile("a PEM profile needs at least one public key", field="pem_keys")
        _check_keys_fit([key for _, key in stored], profile.algorithms)
    _full_clean(profile)
    with transaction.atomic():
        profile.save()
        if profile.public_key_type == TrustedAuthTokenProfile.KeyType.JWK:
            profile.pem_keys.all().delete()
        elif new_pems is not None:
            profile.pem_keys.all().delete()
            ProfilePublicKey.objects.bulk_create(
                [
                    ProfilePublicKey(
                        profile=profile,
                        public_key_pem=_spki(key, serialization.Encoding.PEM).decode(),
                    )
                    for key in keys
                ]
            )


def _copy(mapping: Any) -> Any:
    # Anything but a mapping is left as it is, for the validator to refuse with a message.
    return dict(mapping) if isinstance(mapping, Mapping) else mapping


def _key_source(jwks_url: str | None, pem_keys: Sequence[str] | None) -> str | None:
    if jwks_url and pem_keys:
        raise InvalidProfile("give a JWKS URL or PEM public keys, not both", field="jwks_url")
    if jwks_url:
        return TrustedAuthTokenProfile.KeyType.JWK
    if pem_keys:
        return TrustedAuthTokenProfile.KeyType.PEM
    return None


def create_profile(
    *,
    name: str,
    issuer: str,
    audience: str,
    attribute_mapping: Mapping[str, str],
    jwks_url: str = "",
    pem_keys: Sequence[str] = (),
    can_jit_provision: bool = False,
    can_jit_create_organizations: bool = False,
    algorithms: Sequence[str] | None = None,
    leeway_seconds: int | None = None,
    max_token_lifetime_seconds: int | None = None,
    replay_policy: str | None = None,
    link_policy: str | None = None,
    require_verified_email: bool | None = None,
) -> TrustedAuthTokenProfile:
    """Create a profile trusting a JWKS URL (``jwks_url``) or 1..5 PEM public keys (``pem_keys``).

    ``None`` for an optional setting takes the model default (RS256 + ES256, 30 s leeway, one hour
    maximum lifetime, single use). Raises ``InvalidProfile`` or ``InvalidJwksUrl``; the JWKS URL is
    checked but not fetched.
    """
    key_type = _key_source(jwks_url, pem_keys)
    if key_type is None:
        raise InvalidProfile("give a JWKS URL or 1 to 5 PEM public keys", field="jwks_url")
    profile = TrustedAuthTokenProfile(
        name=name,
        issuer=issuer,
        audience=audience,
        public_key_type=key_type,
        jwks_url=jwks_url if key_type == TrustedAuthTokenProfile.KeyType.JWK else "",
        attribute_mapping=_copy(attribute_mapping),
        can_jit_provision=can_jit_provision,
        can_jit_create_organizations=can_jit_create_organizations,
    )
    optional = {
        "algorithms": algorithms,
        "leeway_seconds": leeway_seconds,
        "max_token_lifetime_seconds": max_token_lifetime_seconds,
        "replay_policy": replay_policy,
        "link_policy": link_policy,
        "require_verified_email": require_verified_email,
    }
    for attribute, value in optional.items():
        if value is not None:
            setattr(profile, attribute, value)
    _save(profile, list(pem_keys) if key_type == TrustedAuthTokenProfile.KeyType.PEM else None)
    return get_profile(profile.profile_id)


def update_profile(profile_id: str, changes: Mapping[str, Any]) -> TrustedAuthTokenProfile:
    """Apply ``changes`` (keys from ``UPDATABLE_FIELDS``) to a profile, with create's rules.

    ``attribute_mapping`` and ``algorithms`` replace the whole value. ``jwks_url`` turns the
    profile into a JWKS profile (its PEM keys go); ``pem_keys`` turns it into a PEM profile with
    exactly those keys (its JWKS URL goes).
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"not updatable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        profile = get_profile(profile_id, for_update=True)
        _apply_changes(profile, changes)
    return get_profile(profile_id)


def _apply_changes(profile: TrustedAuthTokenProfile, changes: Mapping[str, Any]) -> None:
    key_type = _key_source(changes.get("jwks_url"), changes.get("pem_keys"))
    new_pems = None
    if key_type == TrustedAuthTokenProfile.KeyType.JWK:
        profile.public_key_type, profile.jwks_url = key_type, changes["jwks_url"]
    elif key_type == TrustedAuthTokenProfile.KeyType.PEM:
        profile.public_key_type, profile.jwks_url = key_type, ""
        new_pems = list(changes["pem_keys"])
    for attribute in _PLAIN_FIELDS:
        if changes.get(attribute) is not None:
            setattr(profile, attribute, changes[attribute])
    if changes.get("attribute_mapping") is not None:
        profile.attribute_mapping = _copy(changes["attribute_mapping"])
    if changes.get("algorithms") is not None:
        profile.algorithms = list(changes["algorithms"])
    _save(profile, new_pems)


def delete_profile(profile_id: str) -> dict[str, Any]:
    """Delete a profile and its PEM keys; returns what it was. Sessions it started live on."""
    profile = get_profile(profile_id)
    described = profile_as_dict(profile)
    profile.delete()
    return described


def _locked_pem_profile(profile_id: str) -> TrustedAuthTokenProfile:
    # Locked, so two concurrent add-pem calls cannot both pass the five-key limit.
    profile = get_profile(profile_id, for_update=True)
    if profile.public_key_type != TrustedAuthTokenProfile.KeyType.PEM:
        raise InvalidProfile(
            f"profile {profile.profile_id} trusts a JWKS URL; PEM keys belong "
            "to PEM profiles only (profile update --pem-file … switches it)",
            field="pem_keys",
        )
    return profile


def add_pem_key(profile_id: str, pem: str | bytes) -> ProfilePublicKey:
    """Add one PEM public key to a PEM profile (at most five; no duplicates)."""
    key = validate_public_key_pem(pem)
    with transaction.atomic():
        profile = _locked_pem_profile(profile_id)
        stored = _stored_keys(profile)
        if len(stored) >= MAX_PEM_KEYS:
            raise InvalidProfile(
                f"profile {profile.profile_id} already holds {MAX_PEM_KEYS} PEM "
                "keys, the most it may; remove one first (profile remove-pem)",
                field="pem_keys",
            )
        fingerprint = public_key_fingerprint(key)
        for row, existing in stored:
            if existing is not None and public_key_fingerprint(existing) == fingerprint:
                raise InvalidProfile(
                    f"profile {profile.profile_id} already holds this key as {row.key_id}",
                    field="pem_keys",
                )
        _check_keys_fit([key], profile.algorithms)
        row = ProfilePublicKey.objects.create(
            profile=profile, public_key_pem=_spki(key, serialization.Encoding.PEM).decode()
        )
        profile.save(update_fields=["updated_at"])
    return row


def remove_pem_key(profile_id: str, key_id: str) -> ProfilePublicKey:
    """Remove one PEM key from a PEM profile; the last key cannot go. Returns the removed row."""
    with transaction.atomic():
        profile = _locked_pem_profile(profile_id)
        rows = list(profile.pem_keys.all())
        row = next((r for r in rows if r.key_id == key_id), None)
        if row is None:
            raise TrustedAuthError(
                f"profile {profile.profile_id} has no PEM key {key_id[:80]!r}",
                error_type="profile_key_not_found",
                status_code=404,
            )
        if len(rows) == 1:
            raise InvalidProfile(
                f"{key_id} is the last PEM key of profile {profile.profile_id}; "
                "add its replacement first (profile add-pem)",
                field="pem_keys",
            )
        row.delete()
        profile.save(update_fields=["updated_at"])
    return row


# Plain results -------------------------------------------------------------------------------


def pem_key_as_dict(row: ProfilePublicKey, *, include_pem: bool = False) -> dict[str, Any]:
    key = _load_stored(row)
    described: dict[str, Any] = {
        "key_id": row.key_id,
        "key_type": describe_public_key(key) if key is not None else "unreadable",
        "sha256_fingerprint": public_key_fingerprint(key) if key is not None else None,
        "created_at": rfc3339(row.created_at),
    }
    if include_pem:
        described["public_key_pem"] = row.public_key_pem
    return described


def profile_as_dict(
    profile: TrustedAuthTokenProfile, *, include_pem: bool = False
) -> dict[str, Any]:
    """A profile as plain JSON-ready data; ``include_pem`` adds each key's PEM text."""
    return {
        "profile_id": profile.profile_id,
        "name": profile.name,
        "issuer": profile.issuer,
        "audience": profile.audience,
        "public_key_type": profile.public_key_type,
        "jwks_url": profile.jwks_url or None,
        "pem_keys": [
            pem_key_as_dict(row, include_pem=include_pem) for row in profile.pem_keys.all()
        ],
        "attribute_mapping": dict(profile.attribute_mapping),
        "can_jit_provision": profile.can_jit_provision,
        "can_jit_create_organizations": profile.can_jit_create_organizations,
        "algorithms": list(profile.algorithms),
        "leeway_seconds": profile.leeway_seconds,
        "max_token_lifetime_seconds": profile.max_token_lifetime_seconds,
        "replay_policy": profile.replay_policy,
        "link_policy": profile.link_policy,
        "require_verified_email": profile.require_verified_email,
        "created_at": rfc3339(profile.created_at),
        "updated_at": rfc3339(profile.updated_at),
    }


# Dry run -------------------------------------------------------------------------------------


@dataclass
class TokenDryRun:
    """The outcome of a dry run: every check that ran, and the error that stopped it, if any."""

    profile: TrustedAuthTokenProfile
    trace: Trace
    error: TrustedAuthError | None
    # When verification stopped before the claims were verified: the payload as the token
    # states it, for diagnosis only (an expired ``exp``, a wrong ``iss``). Never trusted.
    unverified_claims: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.error is None

    @property
    def failed_check(self) -> str | None:
        return next((check.name for check in self.trace.checks if not check.passed), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile.profile_id,
            "passed": self.passed,
            "failed_check": self.failed_check,
            "error": None
            if self.error is None
            else {
                "error_type": self.error.error_type,
                "error_message": self.error.message,
            },
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.trace.checks
            ],
            "header": self.trace.header,
            "claims": self.trace.claims,
            "unverified_claims": self.unverified_claims,
            "attributes": self.trace.attributes,
        }


def dry_run_token(profile_id: str, token: Any) -> TokenDryRun:
    """Run every verification check on ``token`` without consequences.

    No session, no replay marker (a token that passes here can still be attested), no audit
    event. A JWKS profile may fetch (and cache) the issuer's keys, as an attest would.
    Raises ``ProfileNotFound``; a failing check is reported in the result, not raised.
    """
    profile = get_profile(profile_id)
    trace = Trace()
    try:
        verify_external_token(profile, token, trace=trace, dry_run=True)
    except TrustedAuthError as e:
        # Only past the size and header checks: never decode what those refused.
        unverified = (
            _unverified_claims(token) if trace.header is not None and trace.claims is None else None
        )
        return TokenDryRun(profile=profile, trace=trace, error=e, unverified_claims=unverified)
    return TokenDryRun(profile=profile, trace=trace, error=None)


def _unverified_claims(token: Any) -> dict[str, Any] | None:
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:  # noqa: BLE001 - a diagnostic aid: whatever the payload is, show nothing
        return None
    return claims if isinstance(claims, dict) else None
