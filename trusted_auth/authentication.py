"""Deprecated import path, kept for existing ``REST_FRAMEWORK`` settings: the bearer
authentication class lives in ``trusted_auth.contrib.rest_framework``."""

from trusted_auth.contrib.rest_framework import (
    BearerSessionAuthentication,
    MemberPrincipal,
    VerifiedSession,
)

__all__ = ["BearerSessionAuthentication", "MemberPrincipal", "VerifiedSession"]
