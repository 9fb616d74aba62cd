"""The Auth0 preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

from typing import Any

from trusted_auth.issuers.presets.base import host, param, register


@register(
    "auth0",
    "Auth0",
    param(
        "domain",
        "the tenant domain (acme.eu.auth0.com) or your custom domain",
        "acme.eu.auth0.com",
    ),
    param(
        "audience",
        "the application's Client ID (ID tokens) or the API Identifier (access tokens)",
        "3Kq9bVx7mYc2LpA0zR5tUe8wHs1DfGjN",
    ),
    notes="Access tokens carry no email unless an Action adds one; ID tokens do.",
)
def auth0(params: dict[str, str]) -> dict[str, Any]:
    """An Auth0 tenant's ID tokens: ``iss`` ``https://<domain>/`` (with the trailing slash),
    ``aud`` the Client ID, keys at ``https://<domain>/.well-known/jwks.json``.

    RS256 or PS256 (HS256 is symmetric: refused). ID tokens carry no ``jti``, so token_id is
    ``sid``; their default lifetime is 10 hours, which the profile accepts.

    Users write ``user_metadata`` (the Management API's ``update:current_user_metadata``; it
    reaches a token only through an Action), so it is untrusted; ``app_metadata``,
    ``email_verified`` and ``sub`` are the tenant's.

    Sources:
    https://auth0.com/docs/secure/tokens/id-tokens/id-token-structure
    https://auth0.com/docs/secure/tokens/json-web-tokens/json-web-key-sets
    https://auth0.com/docs/get-started/applications/signing-algorithms
    """
    domain = host(params, "domain")
    return {
        "name": f"Auth0 {domain}",
        "issuer": f"https://{domain}/",
        "audience": params["audience"],
        "jwks_url": f"https://{domain}/.well-known/jwks.json",
        "algorithms": ["RS256", "PS256"],
        "max_token_lifetime_seconds": 36000,
        "attribute_mapping": {"token_id": "sid"},
        "untrusted_claims": ["user_metadata"],
    }
