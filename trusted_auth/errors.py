"""Domain errors raised by services, each with its Stytch ``error_type`` and HTTP status.

``api/envelope.py`` maps them to the wire envelope; the CLI prints them, the admin shows them.
"""

from __future__ import annotations


class TrustedAuthError(Exception):
    """Root of every error a service raises on bad input or a refused request. ``retry_after``
    (seconds), when known, is sent as ``Retry-After``."""

    error_type = "bad_request"
    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        error_type: str | None = None,
        status_code: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        if error_type is not None:
            self.error_type = error_type
        if status_code is not None:
            self.status_code = status_code


class BadRequest(TrustedAuthError):
    """A request argument is missing or malformed."""


class TokenRejected(TrustedAuthError):
    """The external token failed a verification step."""

    error_type = "invalid_trusted_auth_token"
    status_code = 401


class JwksUnavailable(TrustedAuthError):
    """The issuer's JWKS could not be fetched and no good copy is cached. A failed fetch is
    remembered for the refetch cooldown (``retry_after``): retrying sooner gets the same answer."""

    error_type = "jwks_unavailable"
    status_code = 503


class ServiceUnavailable(TrustedAuthError):
    """A dependency (the database or the cache) failed or timed out: the request could not be
    checked, so it is refused (fail closed) with ``Retry-After``, never a 500."""

    error_type = "service_unavailable"
    status_code = 503


class InvalidJwksUrl(TrustedAuthError):
    """A JWKS URL that we refuse to fetch (not https, private network, …)."""

    error_type = "invalid_jwks_url"


class ProfileNotFound(TrustedAuthError):
    error_type = "trusted_token_profile_not_found"
    status_code = 404


class UserNotFound(TrustedAuthError):
    error_type = "user_not_found"
    status_code = 404


class SessionNotFound(TrustedAuthError):
    error_type = "session_not_found"
    status_code = 404


class Unauthorized(TrustedAuthError):
    error_type = "unauthorized_credentials"
    status_code = 401


class OrganizationNotFound(TrustedAuthError):
    error_type = "organization_not_found"
    status_code = 404


class MemberNotFound(TrustedAuthError):
    error_type = "member_not_found"
    status_code = 404


class InvalidProfile(TrustedAuthError):
    """A profile (or one of its PEM keys) we refuse to save; ``field`` names the field at fault."""

    error_type = "invalid_profile"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IdentityLinkRequired(TrustedAuthError):
    """A verified token names an existing user or member its issuer has no link to, and the
    profile's link policy does not allow linking it (or never may: staff, superusers, inactive
    users). An operator links it explicitly with ``trusted_auth identity link``."""

    error_type = "identity_link_required"
    status_code = 403


class UserInactive(TrustedAuthError):
    """The token's user exists but may not sign in (``is_active`` is false)."""

    error_type = "user_inactive"
    status_code = 403


class UnexpectedError(TrustedAuthError):
    """An exception no service anticipated, recorded in the audit trail as what it is."""

    error_type = "internal_server_error"
    status_code = 500


class Conflict(TrustedAuthError):
    """The request would duplicate something that must be unique (409)."""

    status_code = 409


class DuplicateEmail(Conflict):
    """Another user (or Django account) already has this email."""

    error_type = "duplicate_email"


class DuplicateExternalId(Conflict):
    """Another user already has this external id."""

    error_type = "duplicate_external_id"


class DuplicateOrganization(Conflict):
    """The slug or external id is another organization's."""

    error_type = "duplicate_organization"


class DuplicateMember(Conflict):
    """The email or external id is another member's in this organization."""

    error_type = "duplicate_member"
