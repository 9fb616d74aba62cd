"""The roles a new session holds, computed once by the attest flow.

A session's roles are the union of the default role (``stytch_user`` for a consumer,
``stytch_member`` for a member), the member's explicit roles, the organization's implicit roles
for the member's email domain, and the roles the token grants. Token roles live on the session
only: they are never written to the user or member, so they end with the session and the next
token decides again. A token grants a role only when its profile lists it in
``grantable_roles`` and the policy (the project's, or the member's organization's) defines it;
every other role it names is dropped and reported to the caller for the audit event.
"""

from __future__ import annotations

from typing import Any

from trusted_auth.identities.principal import Principal
from trusted_auth.models import Organization, TrustedAuthTokenProfile
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


def session_roles(
    profile: TrustedAuthTokenProfile, principal: Principal, attributes: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """``(granted, dropped)``: the roles a session for ``principal`` holds, and the roles the
    token named that it may not grant."""
    organization = principal.organization
    if principal.member is not None and organization is not None:
        base = [MEMBER_ROLE, *principal.member.roles]
        base += implicit_roles(organization, principal.member.email)
        defined = defined_role_ids(organization.organization_id)
    else:
        base = [CONSUMER_ROLE]
        defined = defined_role_ids()
    grantable = set(profile.grantable_roles or []) & defined
    named = _unique(list(attributes.get("role_ids") or []))
    granted = [role for role in named if role in grantable]
    dropped = [role for role in named if role not in grantable]
    return _unique(base + granted), dropped
