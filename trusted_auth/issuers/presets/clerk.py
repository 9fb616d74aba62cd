"""The Clerk preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

from typing import Any

from trusted_auth.issuers.presets.base import host, param, register


@register(
    "clerk",
    "Clerk",
    param(
        "frontend_api",
        "the Frontend API host: clerk.<your domain> (production) or <slug>.clerk.accounts.dev",
        "clerk.example.com",
    ),
    param(
        "audience",
        "the aud your JWT template sets (Clerk session tokens carry none)",
        "https://api.example.com",
    ),
    notes='Needs a JWT template with {"aud": "<audience>", "email": '
    '"{{user.primary_email_address}}", "email_verified": "{{user.email_verified}}", '
    '"name": "{{user.full_name}}"}: the default session token has neither aud nor email.',
)
def clerk(params: dict[str, str]) -> dict[str, Any]:
    """Tokens of a Clerk JWT template: ``iss`` the Frontend API URL ``https://<frontend_api>``
    (no trailing slash), keys at ``<iss>/.well-known/jwks.json``, RS256.

    The default session token has no ``aud`` and no ``email``: a JWT template must add them.
    token_id is the session ``sid``.

    Users write ``unsafe_metadata`` from the frontend SDK, so it is untrusted (and so is any
    template claim copied from it); ``public_metadata``, ``{{user.email_verified}}`` and the
    organization claims are Clerk's or the backend's.

    Sources:
    https://clerk.com/docs/guides/sessions/session-tokens
    https://clerk.com/docs/guides/sessions/jwt-templates
    https://clerk.com/docs/guides/sessions/manual-jwt-verification
    """
    frontend_api = host(params, "frontend_api")
    return {
        "name": f"Clerk {frontend_api}",
        "issuer": f"https://{frontend_api}",
        "audience": params["audience"],
        "jwks_url": f"https://{frontend_api}/.well-known/jwks.json",
        "algorithms": ["RS256"],
        "attribute_mapping": {"token_id": "sid"},
        "untrusted_claims": ["unsafe_metadata"],
    }
