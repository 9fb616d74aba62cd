"""The Supabase preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

import re
from typing import Any

from trusted_auth.issuers.presets.base import InvalidPresetParameters, param, register


@register(
    "supabase",
    "Supabase Auth",
    param(
        "project_ref", "the project ref, the subdomain of <ref>.supabase.co", "abcdefghijklmnopqrst"
    ),
    param(
        "audience",
        "the aud of the access token: 'authenticated' for signed-in users",
        "authenticated",
        required=False,
        default="authenticated",
    ),
    notes="Needs asymmetric JWT signing keys (ES256 or RS256); the legacy HS256 secret is "
    "symmetric and cannot be trusted through a JWKS.",
)
def supabase(params: dict[str, str]) -> dict[str, Any]:
    """A Supabase project's access tokens: ``iss`` ``https://<ref>.supabase.co/auth/v1`` (no
    trailing slash), ``aud`` ``authenticated``, keys at ``<iss>/.well-known/jwks.json``.

    ``jti`` is not a required claim: token_id is ``session_id`` and replay protection uses the
    token's digest.

    Users write ``user_metadata`` themselves (``supabase.auth.updateUser({data})``), so it is
    untrusted and nothing decisive is read there (its ``full_name`` only names the user);
    ``app_metadata`` is written with the service role key only. Access tokens carry no
    provider-controlled ``email_verified``: add one with a Custom Access Token Hook (from
    ``auth.users.email_confirmed_at``) and map it, or a verified-email link never happens.

    Sources:
    https://supabase.com/docs/guides/auth/jwt-fields
    https://supabase.com/docs/guides/auth/signing-keys
    https://supabase.com/docs/guides/auth/jwts
    """
    ref = params["project_ref"]
    if not re.fullmatch(r"[a-z0-9]{1,63}", ref):
        raise InvalidPresetParameters(
            "project_ref is the lowercase subdomain of <ref>.supabase.co, like "
            "abcdefghijklmnopqrst (not the whole URL)",
            parameter="project_ref",
        )
    issuer = f"https://{ref}.supabase.co/auth/v1"
    return {
        "name": f"Supabase {ref}",
        "issuer": issuer,
        "audience": params["audience"],
        "jwks_url": f"{issuer}/.well-known/jwks.json",
        "algorithms": ["ES256", "RS256"],
        "attribute_mapping": {"token_id": "session_id", "name": "user_metadata.full_name"},
        "untrusted_claims": ["user_metadata"],
    }
