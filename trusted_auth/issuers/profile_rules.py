"""The rules a profile must meet before it is saved, one place for every writer (CLI, admin).
Each refusal is an ``InvalidProfile`` (or ``InvalidJwksUrl``) whose ``field`` names the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from django.core.exceptions import ValidationError

from trusted_auth.errors import InvalidJwksUrl, InvalidProfile, JwksUnavailable
from trusted_auth.internal.pem import check_keys_fit, load_pem_keys, load_stored_key
from trusted_auth.issuers.issuer_keys import fetch_counted
from trusted_auth.issuers.jwks_http import FetchedJwks, validate_jwks_url
from trusted_auth.issuers.verification import email_verification_path
from trusted_auth.models import TrustedAuthTokenProfile
from trusted_auth.models.profiles import (
    validate_algorithms,
    validate_attribute_mapping,
    validate_untrusted_claims,
)
from trusted_auth.rbac.policy import all_role_ids

# The mapped attributes that decide who a token is, which tenant it is for and what it may do:
# never read from a claim the end user writes.
DECISIVE_MAPPING_KEYS = (
    "email",
    "email_verified",
    "external_user_id",
    "external_member_id",
    "organization_id",
    "role_ids",
)


def validate_issuer(issuer: Any) -> None:
    """An ``iss`` as the IdP writes it: an https URL, or a plain string that is not a URL. Both
    are matched exactly, so whitespace, control characters and other schemes are refused.
    Raises ``InvalidProfile``."""
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
    try:
        validate_attribute_mapping(mapping)
    except ValidationError as e:
        raise InvalidProfile(" ".join(e.messages), field="attribute_mapping") from e
    return {key: claim.strip() for key, claim in mapping.items()}


def _clean_list(value: Any, validate: Callable[[Any], None], field: str) -> list[str]:
    """``value`` (a tuple is read as a list) as the model's ``validate`` accepts it, without
    duplicates, or ``InvalidProfile`` on ``field``."""
    if isinstance(value, tuple):
        value = list(value)
    try:
        validate(value)
    except ValidationError as e:
        raise InvalidProfile(" ".join(e.messages), field=field) from e
    return list(dict.fromkeys(value))


def clean_untrusted_claims(untrusted: Any) -> list[str]:
    """The untrusted claim paths without duplicates, or ``InvalidProfile``."""
    return _clean_list(untrusted, validate_untrusted_claims, "untrusted_claims")


def _covers(entry: str, path: str) -> bool:
    """``user_metadata`` covers itself and ``user_metadata.…``; ``custom:*`` covers every claim
    path starting with ``custom:``."""
    if entry.endswith("*"):
        return path.startswith(entry[:-1])
    return path == entry or path.startswith(entry + ".")


def untrusted_mappings(mapping: dict[str, str], untrusted: list[str]) -> list[tuple[str, str]]:
    """``(key, message)`` for each decisive attribute the mapping reads from an untrusted claim;
    ``email_verified`` counts where it is read by default (beside the email claim)."""
    paths = {key: mapping[key] for key in DECISIVE_MAPPING_KEYS if mapping.get(key)}
    paths["email_verified"] = email_verification_path(mapping)
    found = []
    for key, path in paths.items():
        entry = next((entry for entry in untrusted if _covers(entry, path)), None)
        if entry is not None:
            found.append(
                (
                    key,
                    f"{key} is mapped to {path}, under {entry!r}, a claim the issuer's users "
                    f"write themselves (untrusted_claims): map {key} to a claim the provider "
                    "controls",
                )
            )
    return found


def check_claims_trusted(mapping: dict[str, str], untrusted: list[str]) -> None:
    """Refuse a mapping that reads who a token is, its tenant, its roles or whether its email
    is verified from a claim the end user writes (``InvalidProfile`` on ``attribute_mapping``)."""
    found = untrusted_mappings(mapping, untrusted)
    if found:
        raise InvalidProfile("; ".join(message for _, message in found), field="attribute_mapping")


def clean_algorithms(algorithms: Any) -> list[str]:
    """The allowed algorithms without duplicates, or ``InvalidProfile``."""
    return _clean_list(algorithms, validate_algorithms, "algorithms")


def check_jwks_url(url: Any) -> None:
    """``validate_jwks_url``'s rules (https, no credentials, no private network); no fetch."""
    if not isinstance(url, str) or not url:
        raise InvalidProfile("a JWKS profile needs a JWKS URL", field="jwks_url")
    try:
        validate_jwks_url(url)
    except JwksUnavailable as e:
        # The host does not resolve: at configuration time that is a bad URL, not an outage.
        raise InvalidJwksUrl(e.message) from e


def preview_jwks(url: Any) -> FetchedJwks:
    """Check a JWKS URL and fetch it once through the safe fetcher: its usable keys and the
    dropped ones with why. Raises ``InvalidProfile``, ``InvalidJwksUrl`` or ``JwksUnavailable``.
    """
    check_jwks_url(url)
    return fetch_counted(url)


def usable_jwks(url: Any) -> FetchedJwks:
    """``preview_jwks``, refusing a JWKS with no usable signing key (``InvalidJwksUrl``, with
    the reason each key was dropped): what the admin and the CLI check before saving a URL."""
    fetched = preview_jwks(url)
    if not fetched.keys:
        reasons = "; ".join(f"{d['kid'] or '(no kid)'}: {d['reason']}" for d in fetched.dropped[:5])
        raise InvalidJwksUrl(
            "The JWKS has no usable signing key" + (f" ({reasons})." if reasons else ".")
        )
    return fetched


def describe_jwks_keys(fetched: FetchedJwks) -> str:
    """``kid (kty alg), …`` of the usable keys, for people."""
    return ", ".join(
        f"{k.get('kid', '(no kid)')} ({k.get('kty')} {k.get('alg', '')})".replace(" )", ")")
        for k in fetched.keys
    )


def validate_profile(
    profile: TrustedAuthTokenProfile, new_pems: Sequence[str] | None
) -> list[PublicKeyTypes] | None:
    """Check ``profile`` as it now stands, cleaning its mapping and algorithms in place.
    ``new_pems`` replace the stored keys (None: keep them); returns them loaded, or None.
    Raises ``InvalidProfile`` or ``InvalidJwksUrl``; the JWKS URL is checked, not fetched."""
    if profile.issuer:  # an empty one is full_clean's "cannot be blank"
        validate_issuer(profile.issuer)
    profile.attribute_mapping = clean_attribute_mapping(profile.attribute_mapping)
    profile.untrusted_claims = clean_untrusted_claims(profile.untrusted_claims)
    check_claims_trusted(profile.attribute_mapping, profile.untrusted_claims)
    profile.algorithms = clean_algorithms(profile.algorithms)
    keys: list[PublicKeyTypes] | None = None
    if profile.public_key_type == TrustedAuthTokenProfile.KeyType.JWK:
        check_jwks_url(profile.jwks_url)
    elif new_pems is not None:
        keys = load_pem_keys(new_pems)
        check_keys_fit(keys, profile.algorithms)
    else:
        stored = [(row, load_stored_key(row.public_key_pem)) for row in profile.pem_keys.all()]
        broken = [row.key_id for row, key in stored if key is None]
        if broken:
            raise InvalidProfile(
                f"stored PEM key {broken[0]} no longer loads; remove it "
                "(profile remove-pem) or replace the keys",
                field="pem_keys",
            )
        if not stored:
            raise InvalidProfile("a PEM profile needs at least one public key", field="pem_keys")
        check_keys_fit([key for _, key in stored], profile.algorithms)
    full_clean(profile)
    undefined = sorted(set(profile.grantable_roles) - all_role_ids())
    if undefined:
        raise InvalidProfile(
            f"grantable_roles: the RBAC policy defines no role {', '.join(undefined)[:200]}",
            field="grantable_roles",
        )
    return keys


def full_clean(profile: TrustedAuthTokenProfile) -> None:
    """The model's own validation, as one ``InvalidProfile`` (``field`` when only one failed)."""
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
