"""The Keycloak preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

import re
from typing import Any

from trusted_auth.issuers.presets.base import InvalidPresetParameters, param, register, slug


@register(
    "keycloak",
    "Keycloak",
    param(
        "base_url",
        "the server URL: https://sso.example.com (Keycloak 17+), https://…/auth before",
        "https://sso.example.com",
    ),
    param("realm", "the realm name", "acme"),
    param("audience", "the client id (the aud of its ID tokens)", "my-app"),
)
def keycloak(params: dict[str, str]) -> dict[str, Any]:
    """A Keycloak realm's ID tokens: ``iss`` ``<base_url>/realms/<realm>``, keys at
    ``<iss>/protocol/openid-connect/certs``, RS256, PS256 or ES256.

    Users edit their profile in the account console: names, ``email`` (unverified until
    confirmed when the realm verifies email) and any user attribute the realm's user profile
    lets them edit. A mapper that puts such an attribute in the token makes that claim
    untrusted: list it with ``--untrusted-claim``.

    Sources:
    https://www.keycloak.org/docs/latest/server_admin/#_oidc
    https://www.keycloak.org/securing-apps/oidc-layers
    """
    base = params["base_url"]
    if not re.fullmatch(r"https://[^/?#\s]+(?:/[^?#\s]*)?", base) or base.endswith("/"):
        raise InvalidPresetParameters(
            "base_url is the https server URL without a trailing slash, like "
            "https://sso.example.com (or https://sso.example.com/auth before Keycloak 17)",
            parameter="base_url",
        )
    realm = slug(params, "realm")
    issuer = f"{base}/realms/{realm}"
    return {
        "name": f"Keycloak {realm}",
        "issuer": issuer,
        "audience": params["audience"],
        "jwks_url": f"{issuer}/protocol/openid-connect/certs",
        "algorithms": ["RS256", "PS256", "ES256"],
    }
