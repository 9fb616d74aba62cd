"""Verifying an external token against a profile: the one pipeline the attest, ``profile test``
and the admin's test page share. Each step adds a ``Check`` to an optional trace; the first
failing step raises a ``TrustedAuthError``.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, TokenRejected, TrustedAuthError
from trusted_auth.identities.emails import validate_email_address
from trusted_auth.internal import base64url
from trusted_auth.internal.json_limits import (
    MAX_TOKEN_JSON_DEPTH,
    JSONLimitExceeded,
    NotUTF8,
    UnpairedSurrogate,
    bounded_loads,
)
from trusted_auth.issuers import rejection_hints as hints
from trusted_auth.issuers.issuer_keys import verification_keys
from trusted_auth.models import ConsumedToken, TrustedAuthTokenProfile

MAX_TOKEN_ID_LENGTH = 256
MAX_EXTERNAL_ID_LENGTH = 256
_REJECTED_HEADER_PARAMS = ("crit", "cty", "enc", "zip", "b64")
# Unicode category Cc is exactly C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F).
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
# Registered time claims must be JSON numbers between the epoch and the end of year 9999: checked
# on the raw payload before PyJWT or we do any arithmetic, so 10**400 is a clear 400, not a 500.
MAX_TIMESTAMP = 253402300799
_TIME_CLAIMS = ("exp", "iat", "nbf")
# The names of the steps ``verify_external_token`` records in a ``Trace``, in order.
PIPELINE_STEPS = (
    "size",
    "header",
    "signature and registered claims",
    "claims and mapping",
    "replay",
)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class VerifiedToken:
    """A token that passed every check, with its claims mapped to Stytch attribute names."""

    header: dict[str, Any]
    claims: dict[str, Any]
    attributes: dict[str, Any]
    expires_at: float


@dataclass
class Trace:
    checks: list[Check] = field(default_factory=list)
    header: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None

    def record(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append(Check(name, passed, detail))


def claims_rejected(message: str) -> TokenRejected:
    return TokenRejected(message, error_type="jwt_invalid_claims")


def token_replayed() -> TokenRejected:
    """The refusal of a single-use token attested before (``was_consumed``)."""
    return TokenRejected("token has already been attested", error_type="trusted_token_replayed")


def _b64url_json(segment: str, part: str = "header") -> Any:
    """Decode one token segment as JSON nested at most ``MAX_TOKEN_JSON_DEPTH`` levels (checked
    on the text). With ``part="claims"``, claims that are not a JSON object come back as ``{}``
    (unverified, for bounds and messages); PyJWT refuses them after the signature."""
    unreadable = f"token {part} is not base64url-encoded JSON"
    try:
        raw = base64url.decode(segment)
    except ValueError as e:  # binascii.Error, or a character outside ASCII
        raise TokenRejected(unreadable) from e
    try:
        # PyJWT parses the claims' bytes again after the signature: an unpaired surrogate is
        # refused now, so it never reaches a column or a log line.
        value = bounded_loads(raw, max_depth=MAX_TOKEN_JSON_DEPTH)
    except JSONLimitExceeded as e:
        raise TokenRejected(f"token {part} nested deeper than {MAX_TOKEN_JSON_DEPTH} levels") from e
    except UnpairedSurrogate as e:
        raise TokenRejected(f"token {part} holds an unpaired surrogate escape") from e
    except NotUTF8 as e:
        verb = "are" if part == "claims" else "is"
        raise TokenRejected(
            f"token {part} {verb} not UTF-8 JSON (RFC 8725 §3.7: no other encoding, no byte "
            "order mark)"
        ) from e
    except (ValueError, RecursionError) as e:
        if part == "header":
            raise TokenRejected(unreadable) from e
        return {}
    return value if part == "header" or isinstance(value, dict) else {}


def _check_size(token: Any) -> None:
    if not isinstance(token, str) or not token:
        raise TokenRejected("token must be a non-empty string")
    limit = trusted_auth_settings.MAX_TOKEN_BYTES
    if len(token.encode("utf-8", "surrogatepass")) > limit:
        raise TokenRejected(f"token is larger than {limit} bytes")


def _parse_header(
    profile: TrustedAuthTokenProfile, token: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checked header, and the claims as the token states them (unverified, never
    trusted: ``{}`` when they are not a JSON object)."""
    segments = token.split(".")
    if len(segments) != 3:
        raise TokenRejected(
            f"token must be a JWS in compact form with 3 segments, not {len(segments)}"
            + (" (JWE is not accepted)" if len(segments) == 5 else "")
        )
    if not all(segments):
        raise TokenRejected("token has an empty segment")
    if not all(base64url.is_canonical(segment) for segment in segments):
        raise TokenRejected("token segments must be unpadded, canonical base64url")
    header = _b64url_json(segments[0])
    stated = _b64url_json(segments[1], part="claims")
    if not isinstance(header, dict):
        raise TokenRejected("token header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in profile.algorithms:
        raise TokenRejected(
            f"algorithm {str(alg)[:20]!r} is not allowed by this profile "
            f"(allowed: {', '.join(profile.algorithms)})"
        )
    for name in _REJECTED_HEADER_PARAMS:
        if name in header:
            raise TokenRejected(f"token header parameter {name!r} is not accepted")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > 256):
        raise TokenRejected("token kid must be a non-empty string of at most 256 characters")
    return header, stated


def _decode(
    profile: TrustedAuthTokenProfile, token: str, header: dict[str, Any], stated: dict[str, Any]
) -> dict[str, Any]:
    keys = verification_keys(profile, header["alg"], header.get("kid"))
    for index, key in enumerate(keys):
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                issuer=profile.issuer,
                audience=profile.audience,
                leeway=profile.leeway_seconds,
                options={
                    "require": ["exp", "iat", "iss", "aud"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.InvalidSignatureError as e:
            if index == len(keys) - 1:
                raise TokenRejected("token signature does not verify") from e
        # PyJWT checks the claims below only after the signature verified: the payload is the
        # issuer's, so the messages may quote it (when, and how the issuer differs).
        except jwt.InvalidIssuerError as e:
            raise TokenRejected(
                hints.issuer_mismatch(profile.issuer, stated),
                error_type="jwt_invalid_issuer",
            ) from e
        except jwt.InvalidAudienceError as e:
            raise TokenRejected(
                hints.audience_mismatch(profile.audience, stated), error_type="jwt_invalid_audience"
            ) from e
        except jwt.ExpiredSignatureError as e:
            raise claims_rejected(hints.expired(stated, time.time(), profile.leeway_seconds)) from e
        except jwt.ImmatureSignatureError as e:
            raise claims_rejected(
                hints.not_yet_valid(stated, time.time(), profile.leeway_seconds)
            ) from e
        except (jwt.InvalidIssuedAtError, jwt.MissingRequiredClaimError) as e:
            raise claims_rejected(f"token claims are not valid: {e}") from e
        except jwt.PyJWTError as e:
            raise TokenRejected(f"token could not be verified: {e}") from e
        except Exception as e:  # noqa: BLE001 - key handling on hostile input must never 500
            raise TokenRejected(f"token could not be verified: {type(e).__name__}") from e
    raise TokenRejected("no key to verify the token with")


def _is_timestamp(value: Any) -> bool:
    """A JSON number in ``0..MAX_TIMESTAMP``: compared, never converted, so a huge integer or a
    NaN cannot overflow or slip through."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value <= MAX_TIMESTAMP
    )


def _check_time_claims(stated: dict[str, Any]) -> None:
    """Refuse registered time claims that are numbers out of bounds (10**400, 1e30, NaN), before
    the signature check does any arithmetic with them (PyJWT parses the payload once more).
    Other types, and claims that are no JSON object, are refused by the checks that follow."""
    for name in _TIME_CLAIMS:
        value = stated.get(name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and not _is_timestamp(value):
            raise TokenRejected(
                f"{name} must be a JSON number of seconds since the epoch, at most {MAX_TIMESTAMP}",
                error_type="jwt_invalid_claims",
                status_code=400,
            )


def claim_at_path(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``user_metadata.name``), or None when any step is missing."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _bounded_string(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise claims_rejected(f"mapped {name} must be a non-empty string")
    if len(value) > limit:
        raise claims_rejected(f"mapped {name} is longer than {limit} characters")
    # Ids are stored and compared: a NUL is refused by PostgreSQL, a newline forges log lines.
    if _CONTROL_CHARACTERS.search(value):
        raise claims_rejected(f"mapped {name} must not contain control characters")
    return value


def _email(value: Any) -> str:
    """The mapped email, by the one email rule (``identities.emails``) every lookup uses."""
    if not isinstance(value, str):
        raise claims_rejected("mapped email must be a string")
    try:
        return validate_email_address(value, "mapped email")
    except BadRequest as e:
        raise claims_rejected(e.message) from e


def _name(value: Any) -> dict[str, str]:
    if isinstance(value, str) and value.strip():
        return {"first_name": _CONTROL_CHARACTERS.sub("", value).strip()[:150]}
    if isinstance(value, dict):
        return {
            k: _CONTROL_CHARACTERS.sub("", v)[:150]
            for k, v in value.items()
            if k in ("first_name", "middle_name", "last_name") and isinstance(v, str)
        }
    return {}


def email_verification_path(mapping: dict[str, str]) -> str:
    """Where the issuer says whether the email is verified: the mapped ``email_verified`` path,
    else ``email_verified`` beside the email claim (``user_metadata.email`` →
    ``user_metadata.email_verified``; a top-level email → the top-level ``email_verified``)."""
    if mapping.get("email_verified"):
        return mapping["email_verified"]
    parent = mapping.get("email", "email").rpartition(".")[0]
    return f"{parent}.email_verified" if parent else "email_verified"


def email_verification(value: Any) -> bool | None:
    """The one rule for a verification claim: ``None`` when absent (the issuer did not say),
    ``True`` only for JSON ``true`` or the string ``"true"`` in any case, ``False`` for anything
    else (``false``, ``"False"``, ``0``, ``"0"``, ``"yes"``…): an unclear answer is not a yes."""
    if value is None:
        return None
    return value is True or (isinstance(value, str) and value.lower() == "true")


def map_attributes(profile: TrustedAuthTokenProfile, claims: dict[str, Any]) -> dict[str, Any]:
    """Apply the profile's attribute mapping to verified claims. ``email_verified`` is always in
    the result: ``True``, or ``None`` when the issuer did not say."""
    mapping = profile.attribute_mapping or {}
    verified = email_verification(claim_at_path(claims, email_verification_path(mapping)))
    if verified is False:
        raise claims_rejected("the issuer says the email is not verified")
    if verified is None and profile.require_verified_email:
        raise claims_rejected(
            "this profile requires a verified email, and the token does not say the email is "
            f"verified ({email_verification_path(mapping)} is missing)"
        )
    attributes: dict[str, Any] = {
        "email": _email(claim_at_path(claims, mapping.get("email", "email"))),
        "email_verified": verified,
        "token_id": _bounded_string(
            claim_at_path(claims, mapping.get("token_id", "jti")), "token_id", MAX_TOKEN_ID_LENGTH
        ),
    }
    for key in ("external_user_id", "external_member_id"):
        if key in mapping:
            attributes[key] = _bounded_string(
                claim_at_path(claims, mapping[key]), key, MAX_EXTERNAL_ID_LENGTH
            )
    # The organization may come from the request instead (B2B attest decides), so a token
    # without the mapped claim is fine; a claim that is there must be a proper string.
    organization = (
        claim_at_path(claims, mapping["organization_id"]) if "organization_id" in mapping else None
    )
    if organization is not None:
        attributes["organization_id"] = _bounded_string(
            organization, "organization_id", MAX_EXTERNAL_ID_LENGTH
        )
    if "name" in mapping:
        attributes["name"] = _name(claim_at_path(claims, mapping["name"]))
    if "role_ids" in mapping:
        roles = claim_at_path(claims, mapping["role_ids"])
        if roles is None:
            roles = []
        if not isinstance(roles, list) or not all(
            isinstance(r, str) and r and not _CONTROL_CHARACTERS.search(r) for r in roles
        ):
            raise claims_rejected("mapped role_ids must be a list of strings")
        attributes["role_ids"] = roles
    return attributes


def _check_claims(profile: TrustedAuthTokenProfile, claims: dict[str, Any]) -> dict[str, Any]:
    for name in ("exp", "iat"):
        if not _is_timestamp(claims.get(name)):
            raise claims_rejected(f"{name} must be a JSON number")
    if claims["exp"] - claims["iat"] > profile.max_token_lifetime_seconds:
        raise claims_rejected(
            f"token lifetime exceeds the profile's maximum of "
            f"{profile.max_token_lifetime_seconds} seconds"
        )
    return map_attributes(profile, claims)


def replay_key(profile: TrustedAuthTokenProfile, token: str, claims: dict[str, Any]) -> str:
    """The consumed-token row's key (SHA-256 hex): issuer and ``jti``, or without ``jti`` the
    signed part of the token (header and payload), never its signature: ECDSA signatures are
    malleable ((r, s) and (r, n - s) both verify) and RSA-PSS ones randomized, so the same
    signed claims can arrive with another signature, and must still count as the same token."""
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        material = f"{profile.issuer}\0{jti}"
    else:
        material = f"signed\0{token.rsplit('.', 1)[0]}"
    return hashlib.sha256(material.encode()).hexdigest()


def consumed_token_row(
    profile: TrustedAuthTokenProfile, token: str, claims: dict[str, Any]
) -> ConsumedToken | None:
    """The row that records a verified token as attested (single-use profiles; else None), for
    the attest's transaction: its unique ``replay_key`` fails a second attest on any worker (a
    concurrent one waits, and succeeds only if this transaction rolls back)."""
    if profile.replay_policy != TrustedAuthTokenProfile.ReplayPolicy.SINGLE_USE:
        return None
    return ConsumedToken(
        replay_key=replay_key(profile, token, claims),
        profile=profile,
        expires_at=datetime.fromtimestamp(claims["exp"] + profile.leeway_seconds, tz=UTC),
    )


def was_consumed(profile: TrustedAuthTokenProfile, token: str, claims: dict[str, Any]) -> bool:
    """Whether a single-use profile's token was attested already (a read, for dry runs)."""
    return (
        profile.replay_policy == TrustedAuthTokenProfile.ReplayPolicy.SINGLE_USE
        and ConsumedToken.objects.filter(replay_key=replay_key(profile, token, claims)).exists()
    )


def verify_external_token(
    profile: TrustedAuthTokenProfile,
    token: Any,
    *,
    trace: Trace | None = None,
    dry_run: bool = False,
) -> VerifiedToken:
    """Run every verification check on ``token``; raise ``TrustedAuthError`` at the first
    failure. Writes nothing: the attest writes ``consumed_token_row`` in its transaction, and
    ``dry_run=True`` only looks the token up."""
    trace = trace if trace is not None else Trace()
    step = "size"
    try:
        _check_size(token)
        trace.record(step, True, f"{len(token)} bytes")
        step = "header"
        header, stated = _parse_header(profile, token)
        trace.header = header
        kid = f"kid {header['kid']}" if header.get("kid") else "no kid"
        trace.record(step, True, f"alg {header['alg']}, {kid}")
        step = "signature and registered claims"
        _check_time_claims(stated)
        claims = _decode(profile, token, header, stated)
        trace.claims = claims
        trace.record(step, True, "signature, iss, aud, exp, iat, nbf verified")
        step = "claims and mapping"
        attributes = _check_claims(profile, claims)
        trace.attributes = attributes
        trace.record(step, True, "lifetime, email, token_id and mapped attributes valid")
        step = "replay"
        if profile.replay_policy != TrustedAuthTokenProfile.ReplayPolicy.SINGLE_USE:
            trace.record(step, True, "reuse allowed by profile")
        elif not dry_run:
            trace.record(step, True, "recorded as consumed when the attest commits")
        elif was_consumed(profile, token, claims):
            raise token_replayed()
        else:
            trace.record(step, True, "not attested before (dry run marks nothing)")
    except TrustedAuthError as e:
        trace.record(step, False, f"{e.error_type}: {e.message}")
        raise
    return VerifiedToken(
        header=header, claims=claims, attributes=attributes, expires_at=float(claims["exp"])
    )
