"""The Google preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

import re
from typing import Any

from trusted_auth.issuers.presets.base import InvalidPresetParameters, param, register


@register(
    "google",
    "Google (Sign in with Google ID tokens)",
    param(
        "client_id",
        "the OAuth client id: the aud of its ID tokens",
        "1234567890-abc123.apps.googleusercontent.com",
    ),
    notes="Google may also write iss as accounts.google.com (no scheme); this preset trusts "
    "https://accounts.google.com, the issuer of Google's discovery document.",
    audience_from="client_id",
)
def google(params: dict[str, str]) -> dict[str, Any]:
    """Google ID tokens for one OAuth client: ``iss`` ``https://accounts.google.com``, ``aud``
    the client id, keys at ``https://www.googleapis.com/oauth2/v3/certs``, RS256.

    Users write their profile ``name`` and ``picture``, which only name them; ``email``,
    ``email_verified``, ``hd`` and ``sub`` are Google's.

    Sources:
    https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
    https://developers.google.com/identity/gsi/web/reference/js-reference#credential
    """
    client_id = params["client_id"]
    if not re.fullmatch(r"[A-Za-z0-9._-]+\.apps\.googleusercontent\.com", client_id):
        raise InvalidPresetParameters(
            "client_id looks like 1234567890-abc123.apps.googleusercontent.com",
            parameter="client_id",
        )
    return {
        "name": "Google",
        "issuer": "https://accounts.google.com",
        "audience": client_id,
        "jwks_url": "https://www.googleapis.com/oauth2/v3/certs",
        "algorithms": ["RS256"],
    }
