"""OAuth error codes (RFC 6749 §5.2, RFC 8693 §2.2.2) and the one table from our domain errors.

The codes are the RFCs' strings, spelled as Authlib's and oauthlib's error classes spell them
(``InvalidGrantError.error == "invalid_grant"``); neither library is imported: the product needs
six strings, not an OAuth framework.
"""

from __future__ import annotations

from trusted_auth.errors import TrustedAuthError

INVALID_REQUEST = "invalid_request"
INVALID_CLIENT = "invalid_client"
INVALID_GRANT = "invalid_grant"
INVALID_SCOPE = "invalid_scope"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
INVALID_TARGET = "invalid_target"
# Not RFC 6749 §5.2 codes, but what its §4.1.2.1 calls a server that is down or busy; sent
# with 429 or 503 and Retry-After.
TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"
SERVER_ERROR = "server_error"


class OAuthError(Exception):
    """An error answered the RFC 6749 §5.2 way: ``{"error", "error_description"}``.

    ``error_type`` is the domain error behind it, when there is one (its Errors reference entry
    is the ``error_uri``)."""

    def __init__(
        self, error: str, description: str, *, status_code: int = 400, error_type: str = ""
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code
        self.error_type = error_type


# Domain error_type -> OAuth error, where the status alone would not say it.
_ERROR_CODES = {
    "unauthorized_credentials": INVALID_CLIENT,
    "too_many_requests": TEMPORARILY_UNAVAILABLE,
    "service_unavailable": TEMPORARILY_UNAVAILABLE,
    "jwks_unavailable": TEMPORARILY_UNAVAILABLE,
    "trusted_token_profile_not_found": INVALID_REQUEST,
    "organization_not_found": INVALID_REQUEST,
    "organization_mismatch": INVALID_GRANT,
    "internal_server_error": SERVER_ERROR,
}


def oauth_error(error: TrustedAuthError) -> OAuthError:
    """The OAuth error a domain error is answered as: a rejected token, user or session is
    ``invalid_grant`` (400, as RFC 6749 §5.2 says, whatever our API's status), any other
    4xx ``invalid_request``, an outage ``temporarily_unavailable`` with its own status."""
    code = _ERROR_CODES.get(error.error_type)
    if code is None:
        if error.status_code >= 500:
            code = TEMPORARILY_UNAVAILABLE if error.status_code == 503 else SERVER_ERROR
        elif error.status_code in (401, 403, 404):
            code = INVALID_GRANT
        else:
            code = INVALID_REQUEST
    if code in (TEMPORARILY_UNAVAILABLE, SERVER_ERROR):
        status = error.status_code
    elif code == INVALID_CLIENT:
        status = 401
    else:
        status = 400
    return OAuthError(code, error.message, status_code=status, error_type=error.error_type)
