"""Kept for the suite's imports: the test issuers live in ``trusted_auth.testing.issuers``."""

from trusted_auth.testing.issuers import (  # noqa: F401
    AUDIENCE,
    DROP,
    ISSUER,
    JwksIssuer,
    SigningPair,
    default_claims,
)
