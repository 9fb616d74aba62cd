"""The dry run of a token against a profile (``profile test``, the admin's "test a token" page):
every check with its outcome; no session, no replay marker, no audit event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from trusted_auth.errors import TrustedAuthError
from trusted_auth.issuers.profile_lookup import get_profile
from trusted_auth.issuers.verification import Trace, verify_external_token
from trusted_auth.models import TrustedAuthTokenProfile


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
    """Run every verification check on ``token`` without consequences (a JWKS profile may still
    fetch and cache the issuer's keys). Raises ``ProfileNotFound``; a failing check is reported
    in the result, not raised."""
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


def _unverified_claims(token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:  # noqa: BLE001 - a diagnostic aid: whatever the payload is, show nothing
        return None
    return claims if isinstance(claims, dict) else None
