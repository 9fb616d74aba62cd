"""The one evaluation of a permission: may these roles take ``action`` on ``resource_id``?

A role grants it by naming the resource with the action or ``*``; an action the policy does not
define is never allowed (fail closed). A member session also counts its organization's roles and
may not name another organization. A denial (Stytch's 403 error types) does not end the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trusted_auth.errors import BadRequest, TrustedAuthError
from trusted_auth.models import Session
from trusted_auth.rbac.policy import WILDCARD, organization_roles, project_policy


@dataclass(frozen=True)
class AuthorizationCheck:
    resource_id: str
    action: str
    organization_id: str | None = None


def parse_authorization_check(value: Any, *, member: bool) -> AuthorizationCheck | None:
    """The ``authorization_check`` of an authenticate request (None when absent or null)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("authorization_check must be an object")
    fields = ["resource_id", "action"] + (["organization_id"] if member else [])
    parsed = {}
    for field in fields:
        text = value.get(field)
        if not isinstance(text, str) or not text or len(text) > 256 or "\x00" in text:
            raise BadRequest(f"authorization_check.{field} must be a non-empty string")
        parsed[field] = text
    return AuthorizationCheck(**parsed)


def granting_roles(
    roles: list[str], resource_id: str, action: str, organization_id: str | None = None
) -> list[str]:
    """The roles among ``roles`` that allow ``action`` on ``resource_id`` (empty: denied)."""
    policy = project_policy()
    resource = next((r for r in policy["resources"] if r["resource_id"] == resource_id), None)
    if resource is None or action not in resource["actions"]:
        return []
    defined = list(policy["roles"])
    if organization_id:
        defined += organization_roles(organization_id)
    held = set(roles)
    return [
        role["role_id"]
        for role in defined
        if role["role_id"] in held
        and any(
            permission["resource_id"] == resource_id
            and (WILDCARD in permission["actions"] or action in permission["actions"])
            for permission in role["permissions"]
        )
    ]


def authorize(
    session: Session, resource_id: str, action: str, organization_id: str | None = None
) -> list[str]:
    """The roles of ``session`` granting the check; 403 with Stytch's error type otherwise."""
    member = session.member_id is not None
    session_organization = session.organization.organization_id if session.organization else None
    if member and organization_id != session_organization:
        raise TrustedAuthError(
            "organization_id in the authorization_check does not match the session's organization",
            error_type="session_authorization_tenancy_error",
            status_code=403,
        )
    granted = granting_roles(session.roles, resource_id, action, session_organization)
    if not granted:
        raise TrustedAuthError(
            f"the {'member' if member else 'user'} is not authorized to {action!r} on "
            f"{resource_id!r}",
            error_type="session_authorization_error"
            if member
            else "consumer_session_authorization_error",
            status_code=403,
        )
    return granted
