"""The WorkOS AuthKit preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

import re
from typing import Any

from trusted_auth.issuers.presets.base import InvalidPresetParameters, param, register


@register(
    "workos",
    "WorkOS AuthKit",
    param("client_id", "the environment's client id, client_…", "client_01HXYZEXAMPLE"),
    param(
        "audience",
        "the aud of your access tokens (default: the client id)",
        "client_01HXYZEXAMPLE",
        required=False,
    ),
    notes='Access tokens carry no email: add {"email": "{{user.email}}"} with a JWT template.',
    audience_from="audience",
)
def workos(params: dict[str, str]) -> dict[str, Any]:
    """WorkOS AuthKit access tokens: ``iss`` ``https://api.workos.com/user_management/<client_id>``,
    keys at ``https://api.workos.com/sso/jwks/<client_id>``, RS256.

    Access tokens have no email until a JWT template adds ``{{user.email}}``. With a custom
    authentication domain the issuer is that domain: override it with ``--issuer``.

    Users write none of these claims: ``org_id``, ``role`` and ``permissions`` are WorkOS's and
    user metadata is set through its API.

    Sources:
    https://workos.com/docs/reference/authkit/session-tokens
    https://workos.com/docs/authkit/jwt-templates
    """
    client_id = params["client_id"]
    if not re.fullmatch(r"client_[A-Za-z0-9]+", client_id):
        raise InvalidPresetParameters(
            "client_id looks like client_01HXYZEXAMPLE", parameter="client_id"
        )
    return {
        "name": f"WorkOS {client_id}",
        "issuer": f"https://api.workos.com/user_management/{client_id}",
        "audience": params.get("audience") or client_id,
        "jwks_url": f"https://api.workos.com/sso/jwks/{client_id}",
        "algorithms": ["RS256"],
    }
