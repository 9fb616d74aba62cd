"""The Okta preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

from typing import Any

from trusted_auth.issuers.presets.base import host, param, register, slug


@register(
    "okta",
    "Okta",
    param("domain", "the Okta org domain or custom domain", "acme.okta.com"),
    param(
        "authorization_server",
        "the custom authorization server id ('default'), or 'org' for the org server",
        "default",
        required=False,
        default="default",
    ),
    param(
        "audience",
        "the Client ID (ID tokens) or the authorization server's audience (api://default)",
        "0oa1example2345678",
    ),
    notes="Access tokens carry no email claim by default; ID tokens with the email scope do.",
)
def okta(params: dict[str, str]) -> dict[str, Any]:
    """An Okta authorization server's ID tokens: ``iss`` ``https://<domain>/oauth2/<server>``
    (custom server, ``default`` unless named) or ``https://<domain>`` (org server), keys at
    ``<iss>/v1/keys`` (org server: ``https://<domain>/oauth2/v1/keys``), RS256.

    Users edit the profile attributes their org makes read-write for them (Profile Editor:
    names, often ``email``, custom attributes). A custom claim whose expression reads such an
    attribute is untrusted: list it with ``--untrusted-claim``; ``email_verified`` is Okta's.

    Sources:
    https://developer.okta.com/docs/reference/api/oidc/#id-token
    https://developer.okta.com/docs/concepts/auth-servers/
    https://developer.okta.com/docs/guides/validate-id-tokens/main/
    """
    domain = host(params, "domain")
    server = params["authorization_server"]
    if server == "org":
        issuer, jwks_url = f"https://{domain}", f"https://{domain}/oauth2/v1/keys"
    else:
        server = slug(params, "authorization_server")
        issuer = f"https://{domain}/oauth2/{server}"
        jwks_url = f"{issuer}/v1/keys"
    return {
        "name": f"Okta {domain}",
        "issuer": issuer,
        "audience": params["audience"],
        "jwks_url": jwks_url,
        "algorithms": ["RS256"],
    }
