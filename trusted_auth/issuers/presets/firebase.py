"""The Firebase preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

import re
from typing import Any

from trusted_auth.issuers.presets.base import InvalidPresetParameters, param, register


@register(
    "firebase",
    "Firebase Authentication (Google Identity Platform)",
    param("project_id", "the Firebase project id", "my-project-1234"),
    audience_from="project_id",
)
def firebase(params: dict[str, str]) -> dict[str, Any]:
    """A Firebase project's ID tokens: ``iss`` ``https://securetoken.google.com/<project_id>``,
    ``aud`` the project id, RS256, Google's securetoken JWKS.

    ID tokens carry no ``jti``: token_id is the uid (``sub``) and replay protection uses the
    token's digest.

    Users write ``name`` and ``picture`` (``updateProfile``), which only name them; an email
    they change is unverified until confirmed, and custom claims are set by the Admin SDK only.

    Sources:
    https://firebase.google.com/docs/auth/admin/verify-id-tokens#verify_id_tokens_using_a_third-party_jwt_library
    """
    project = params["project_id"]
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", project):
        raise InvalidPresetParameters(
            "project_id is the Firebase project id, like my-project-1234 (lowercase)",
            parameter="project_id",
        )
    return {
        "name": f"Firebase {project}",
        "issuer": f"https://securetoken.google.com/{project}",
        "audience": project,
        "jwks_url": "https://www.googleapis.com/service_accounts/v1/jwk/"
        "securetoken@system.gserviceaccount.com",
        "algorithms": ["RS256"],
        "attribute_mapping": {"token_id": "sub"},
    }
