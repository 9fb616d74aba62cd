"""Provider presets: the exact issuer, audience, JWKS URL, algorithms and claim mapping of an IdP.

Every IdP writes its ``iss`` its own way, and a profile matches it exactly: Supabase without a
trailing slash, Auth0 with one, Cognito with its region and pool id, Entra ID with the tenant
GUID and ``v2.0``, Clerk as its Frontend API URL, Firebase as
``https://securetoken.google.com/<project>``. A preset turns the few values a user knows (a
project ref, a tenant domain, a client id) into those strings, and names the IdP documentation
each value follows in its docstring.

A preset only *fills* a profile: ``build_preset(name, params)`` returns plain profile fields
that ``manage.py trusted_auth profile create --preset NAME --param KEY=VALUE …`` (where any other
flag overrides them) and the admin's "Start from a provider" hand to the ordinary profile
service. The result is an ordinary profile, edited like any other.

One module per IdP (``auth0.py`` …), each registering its preset with ``base.register``.
"""

from __future__ import annotations

# Importing each provider module registers its preset.
from trusted_auth.issuers.presets import (
    auth0,
    clerk,
    cognito,
    entra_id,
    firebase,
    google,
    keycloak,
    okta,
    supabase,
    workos,
)
from trusted_auth.issuers.presets.base import (
    PRESETS,
    InvalidPresetParameters,
    Parameter,
    Preset,
    build_preset,
    get_preset,
    list_presets,
)

__all__ = [
    "PRESETS",
    "InvalidPresetParameters",
    "Parameter",
    "Preset",
    "auth0",
    "build_preset",
    "clerk",
    "cognito",
    "entra_id",
    "firebase",
    "get_preset",
    "google",
    "keycloak",
    "list_presets",
    "okta",
    "supabase",
    "workos",
]
