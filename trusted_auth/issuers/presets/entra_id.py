"""The Microsoft Entra ID preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

from typing import Any

from trusted_auth.issuers.presets.base import InvalidPresetParameters, guid, param, register

ENTRA_ALIASES = ("common", "organizations", "consumers")


@register(
    "entra-id",
    "Microsoft Entra ID (v2.0 tokens)",
    param("tenant_id", "the directory (tenant) id, a GUID", "9188040d-6c67-4c5b-b112-36a304b66dad"),
    param(
        "client_id",
        "the application (client) id: the aud of its ID tokens",
        "6731de76-14a6-49ae-97bc-6eba6914391e",
    ),
    notes="Add the optional 'email' claim to the app's ID token; Entra ID has no email_verified.",
    audience_from="client_id",
)
def entra_id(params: dict[str, str]) -> dict[str, Any]:
    """An Entra ID tenant's v2.0 ID tokens: ``iss``
    ``https://login.microsoftonline.com/<tenant GUID>/v2.0``, ``aud`` the application id, keys
    at ``https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys``, RS256.

    ``oid`` is the user's immutable id in the tenant (``sub`` is pairwise per app).
    ``common``/``organizations`` are endpoint aliases, never an ``iss``.

    Users write none of these claims: ``email`` is the tenant administrators' (not verified by
    Microsoft), and Entra ID sends no ``email_verified``, so a verified-email link never
    happens; ``oid`` is immutable.

    Sources:
    https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
    https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
    https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims
    """
    tenant = params["tenant_id"]
    if tenant.lower() in ENTRA_ALIASES:
        raise InvalidPresetParameters(
            f"{tenant!r} is an endpoint alias, never a token's iss: give the tenant's GUID "
            "(Entra admin center → Overview → Tenant ID)",
            parameter="tenant_id",
        )
    tenant = guid(tenant, "tenant_id")
    client_id = guid(params["client_id"], "client_id")
    return {
        "name": f"Entra ID {tenant}",
        "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
        "audience": client_id,
        "jwks_url": f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",
        "algorithms": ["RS256"],
        "attribute_mapping": {"token_id": "uti", "external_user_id": "oid"},
    }
