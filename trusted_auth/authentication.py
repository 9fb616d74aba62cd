"""Deprecated import path: the bearer authentication class lives in
``trusted_auth.contrib.rest_framework`` (the django-oauth-toolkit / allauth layout).

Kept so ``"trusted_auth.authentication.BearerSessionAuthentication"`` in existing
``REST_FRAMEWORK`` settings keeps working.
"""

from trusted_auth.contrib.rest_framework import (
    BearerSessionAuthentication,
    MemberPrincipal,
    VerifiedSession,
)

__all__ = ["BearerSessionAuthentication", "MemberPrincipal", "VerifiedSession"]
