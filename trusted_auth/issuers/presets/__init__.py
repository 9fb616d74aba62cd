"""Provider presets: the exact issuer, audience, JWKS URL, algorithms and claim mapping of an IdP
(every IdP writes its ``iss`` its own way, and a profile matches it exactly), built from the few
values a user knows. A preset only fills an ordinary profile; each builder cites its IdP's docs.
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
