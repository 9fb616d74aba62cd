"""The roles a session holds: computed by the attest flow, recomputed on each authenticate.

The default role, the member's explicit and email-domain implicit roles, and the token's roles.
Token roles live on the session only (``Session.token_roles``), never on the user or member; a
token grants a role only when its profile's ``grantable_roles`` lists it and the policy defines
it (others are dropped and audited). ``current_roles`` applies the rule again with the member,
policy and profile as they are now (a deleted profile grants nothing).
"""

from __future__ import annotations

from typing import Any

from trusted_auth.identities.principal import Principal
from trusted_auth.issuers.profile_lookup import grantable_roles
from trusted_auth.models import Member, Organization, Session, TrustedAuthTokenProfile
from trusted_auth.rbac.policy import CONSUMER_ROLE, MEMBER_ROLE, defined_role_ids


def _unique(roles: list[str]) -> list[str]:
    return list(dict.fromkeys(roles))


def implicit_roles(organization: Organization, email: str) -> list[str]:
    """The roles ``organization`` assigns to every member whose email is in a given domain."""
    domain = email.rpartition("@")[2].lower()
    return [
        str(assignment.get("role_id"))
        for assignment in organization.rbac_email_implicit_role_assignments or []
        if isinstance(assignment, dict) and str(assignment.get("domain", "")).lower() == domain
    ]


def _held(
    member: Member | None,
    organization: Organization | None,
    named: list[str],
    grantable: list[str],
) -> tuple[list[str], list[str]]:
    """``(roles, granted)``: ``granted`` are the ``named`` roles in the profile's ``grantable``
    list that the policy defines."""
    organization_id = None
    if member is not None and organization is not None:
        base = [MEMBER_ROLE, *member.roles, *implicit_roles(organization, member.email)]
        organization_id = organization.organization_id
    else:
        base = [CONSUMER_ROLE]
    granted: list[str] = []
    if named:
        allowed = set(grantable) & defined_role_ids(organization_id)
        granted = [role for role in named if role in allowed]
    return _unique(base + granted), granted


def session_roles(
    profile: TrustedAuthTokenProfile, principal: Principal, attributes: dict[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """``(roles, granted, dropped)`` of a new session: all its roles, its ``token_roles``, and
    the roles the token named that it may not grant."""
    named = _unique(list(attributes.get("role_ids") or []))
    roles, granted = _held(
        principal.member, principal.organization, named, list(profile.grantable_roles or [])
    )
    return roles, granted, [role for role in named if role not in granted]


def current_roles(session: Session) -> list[str]:
    """The roles ``session`` holds now (it needs ``member``, ``organization`` and ``user``
    loaded): its owner's roles as they are, and the token roles still granted."""
    named = list(session.token_roles or [])
    grantable = grantable_roles(session.profile_id) if named else []
    return _held(session.member, session.organization, named, grantable)[0]
