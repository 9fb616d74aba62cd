"""Authorization server metadata (RFC 8414, OpenID Connect Discovery 1.0): what is true of this
deployment, built from ``ISSUER`` and ``PROJECT_ID``.

The app is mounted at ``ISSUER``'s path, so every endpoint is ``ISSUER`` + its route. RFC 8414
§3's ``/.well-known/oauth-authorization-server`` goes before the issuer's path: only the host's
root URLconf can serve it (``trusted_auth.urls.well_known_urlpatterns``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from trusted_auth.conf import trusted_auth_settings

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_TOKEN = "refresh_token"
GRANT_TYPES = [TOKEN_EXCHANGE, JWT_BEARER, REFRESH_TOKEN]

TOKEN_PATH = "/oauth2/token"
INTROSPECTION_PATH = "/oauth2/introspect"
REVOCATION_PATH = "/oauth2/revoke"
METADATA_MAX_AGE_SECONDS = 3600


def issuer() -> str:
    return trusted_auth_settings.ISSUER.rstrip("/")


def issuer_path() -> str:
    """The path part of ``ISSUER`` (``""`` when the app is mounted at the root)."""
    return urlsplit(issuer()).path.rstrip("/")


def authorization_server_metadata() -> dict[str, Any]:
    """The metadata document, the same at both well-known locations. Only what holds: no
    authorization endpoint (so no response types), no ID tokens, no scopes; the access token is
    our RS256 session JWT, verifiable with the keys at ``jwks_uri``."""
    base = issuer()
    client_auth = ["client_secret_basic"]
    return {
        "issuer": base,
        "jwks_uri": f"{base}/v1/sessions/jwks/{trusted_auth_settings.PROJECT_ID}",
        "token_endpoint": base + TOKEN_PATH,
        "introspection_endpoint": base + INTROSPECTION_PATH,
        "revocation_endpoint": base + REVOCATION_PATH,
        "grant_types_supported": GRANT_TYPES,
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": client_auth,
        "introspection_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_methods_supported": client_auth,
        "subject_types_supported": ["public"],
        "service_documentation": base + "/trusted_auth/openapi.yaml",
    }
