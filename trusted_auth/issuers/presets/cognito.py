"""The Amazon Cognito preset: its issuer, audience, JWKS URL, algorithms and claim mapping."""

from __future__ import annotations

import re
from typing import Any

from trusted_auth.issuers.presets.base import InvalidPresetParameters, param, register, slug

AWS_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
COGNITO_POOL = re.compile(r"^(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)_[A-Za-z0-9]+$")


@register(
    "cognito",
    "Amazon Cognito user pool",
    param("region", "the AWS region of the user pool", "eu-west-1"),
    param("user_pool_id", "the user pool id, <region>_<id>", "eu-west-1_AbCdEf123"),
    param("client_id", "the app client id: the aud of the pool's ID tokens", "1example23456789"),
    notes="Use ID tokens: Cognito access tokens carry client_id instead of aud, and no email.",
    audience_from="client_id",
)
def cognito(params: dict[str, str]) -> dict[str, Any]:
    """A Cognito user pool's ID tokens: ``iss``
    ``https://cognito-idp.<region>.amazonaws.com/<user_pool_id>``, ``aud`` the app client id,
    keys at ``<iss>/.well-known/jwks.json``, RS256.

    Access tokens carry ``client_id`` instead of ``aud`` and fail the audience check: give ID
    tokens.

    Users write, with their own access token (``UpdateUserAttributes``), every attribute the
    app client grants write access to: by default the standard ones, custom ones once listed.
    ``custom:*`` is untrusted; ``email`` is writable, but a changed email is unverified
    (``email_verified`` false) until confirmed, and ``email_verified`` is set by Cognito or an
    administrator.

    Sources:
    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
    """
    region = params["region"]
    if not AWS_REGION.match(region):
        raise InvalidPresetParameters(
            f"region {region!r} is not an AWS region like eu-west-1", parameter="region"
        )
    pool = params["user_pool_id"]
    match = COGNITO_POOL.match(pool)
    if match is None:
        raise InvalidPresetParameters(
            "user_pool_id looks like eu-west-1_AbCdEf123 (region, underscore, id)",
            parameter="user_pool_id",
        )
    if match["region"] != region:
        raise InvalidPresetParameters(
            f"user pool {pool} lives in {match['region']}, not {region}: give "
            f"region={match['region']}",
            parameter="region",
        )
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}"
    return {
        "name": f"Cognito {pool}",
        "issuer": issuer,
        "audience": slug(params, "client_id"),
        "jwks_url": f"{issuer}/.well-known/jwks.json",
        "algorithms": ["RS256"],
        "untrusted_claims": ["custom:*"],
    }
