"""The RBAC policy in Stytch's shape: which roles exist and what they may do, validated whole.

The project policy always holds Stytch's default roles; an organization's adds roles of its own
on the project's resources. ``TRUSTED_AUTH["ROLES"]`` (deprecated) still counts as defined role
ids. A broken document is refused whole with ``BadRequest`` naming the rule; reads are cached
per process on the ``rbac`` generation, so a change is seen everywhere on the next request.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from trusted_auth import signals
from trusted_auth.audit.changes import record_change
from trusted_auth.audit.events import RequestContext
from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest
from trusted_auth.internal.cache import ProcessCache
from trusted_auth.internal.generations import RBAC
from trusted_auth.models import Organization, OrganizationRbacPolicy, RbacPolicy

CONSUMER_ROLE = "stytch_user"
MEMBER_ROLE = "stytch_member"
ADMIN_ROLE = "stytch_admin"
DEFAULT_ROLES = {
    CONSUMER_ROLE: "Granted to every consumer session.",
    MEMBER_ROLE: "Granted to every member session.",
    ADMIN_ROLE: "Assigned to the members who administer their organization.",
}
WILDCARD = "*"
_MAX_ID = 128
_MAX_DESCRIPTION = 1000
_MAX_ITEMS = 500

_cache: ProcessCache[Any, Any] = ProcessCache(size=512, counter=RBAC)


def _text(value: Any, what: str, *, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or "\x00" in value or len(value) > limit:
        raise BadRequest(f"{what} must be a string of at most {limit} characters")
    if required and not value.strip():
        raise BadRequest(f"{what} must not be empty")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > _MAX_ITEMS:
        raise BadRequest(f"{what} must be a list of at most {_MAX_ITEMS} items")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be an object")
    return value


def _unique(ids: list[Any], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise BadRequest(f"{what} {item!r} is defined twice")
        seen.add(item)


def _resources(value: Any) -> list[dict[str, Any]]:
    resources = []
    for raw in _list(value, "resources"):
        raw = _object(raw, "a resource")
        resource_id = _text(raw.get("resource_id"), "resource_id", limit=_MAX_ID)
        if resource_id.startswith("stytch"):
            raise BadRequest(f"resource {resource_id!r}: ids starting with 'stytch' are reserved")
        actions = [
            _text(a, f"an action of resource {resource_id!r}", limit=_MAX_ID)
            for a in _list(raw.get("actions"), f"actions of resource {resource_id!r}")
        ]
        if WILDCARD in actions:
            raise BadRequest(f"resource {resource_id!r}: '*' is not an action, it grants them all")
        _unique(actions, f"resource {resource_id!r}: action")
        description = _text(
            raw.get("description"), "description", limit=_MAX_DESCRIPTION, required=False
        )
        resources.append(
            {"resource_id": resource_id, "description": description, "actions": actions}
        )
    _unique([r["resource_id"] for r in resources], "resource")
    return resources


def _permissions(value: Any, owner: str, actions_of: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Permissions of a role or scope: each names a defined resource and its defined actions."""
    permissions = []
    for raw in _list(value, f"permissions of {owner}"):
        raw = _object(raw, f"a permission of {owner}")
        resource_id = _text(raw.get("resource_id"), f"resource_id in {owner}", limit=_MAX_ID)
        if resource_id not in actions_of:
            raise BadRequest(f"{owner} names unknown resource {resource_id!r}")
        actions = [
            _text(a, f"an action in {owner}", limit=_MAX_ID)
            for a in _list(raw.get("actions"), f"actions in {owner}")
        ]
        for action in actions:
            if action != WILDCARD and action not in actions_of[resource_id]:
                raise BadRequest(
                    f"{owner} names unknown action {action!r} of resource {resource_id!r}"
                )
        permissions.append({"resource_id": resource_id, "actions": actions})
    return permissions


def _grants(
    value: Any, kind: str, id_key: str, actions_of: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Roles (``kind="role"``, keyed by ``role_id``) or scopes (``"scope"``, keyed by ``scope``):
    a unique id, a description and permissions on the policy's resources."""
    grants = []
    for raw in _list(value, f"{kind}s"):
        raw = _object(raw, f"a {kind}")
        grant_id = _text(raw.get(id_key), id_key, limit=_MAX_ID)
        grants.append(
            {
                id_key: grant_id,
                "description": _text(
                    raw.get("description"), "description", limit=_MAX_DESCRIPTION, required=False
                ),
                "permissions": _permissions(
                    raw.get("permissions"), f"{kind} {grant_id!r}", actions_of
                ),
            }
        )
    _unique([g[id_key] for g in grants], kind)
    return grants


def validate_policy(document: Any) -> dict[str, Any]:
    """A project policy document (Stytch's export, or ``{"policy": …}`` around it) in its
    normalised shape; ``BadRequest`` naming the first broken rule."""
    document = _object(document, "the policy")
    if "policy" in document and isinstance(document["policy"], dict):
        document = document["policy"]
    unknown = sorted(set(document) - {"resources", "roles", "scopes"})
    if unknown:
        raise BadRequest(f"unknown policy fields: {', '.join(unknown)[:200]}")
    resources = _resources(document.get("resources"))
    actions_of = {r["resource_id"]: r["actions"] for r in resources}
    return {
        "resources": resources,
        "roles": _grants(document.get("roles"), "role", "role_id", actions_of),
        "scopes": _grants(document.get("scopes"), "scope", "scope", actions_of),
    }


def validate_org_roles(document: Any) -> list[dict[str, Any]]:
    """An organization policy (``{"roles": [...]}``): roles on the project's resources, with
    ids no project role uses."""
    document = _object(document, "org_policy")
    unknown = sorted(set(document) - {"roles"})
    if unknown:
        raise BadRequest(f"unknown org_policy fields: {', '.join(unknown)[:200]}")
    actions_of = {r["resource_id"]: r["actions"] for r in project_policy()["resources"]}
    roles = _grants(document.get("roles"), "role", "role_id", actions_of)
    taken = project_role_ids()
    for role in roles:
        if role["role_id"] in taken or role["role_id"].startswith("stytch"):
            raise BadRequest(
                f"role {role['role_id']!r} is a project role: an organization role needs its own id"
            )
    return roles


def _load_project() -> dict[str, Any]:
    row = RbacPolicy.objects.filter(name=RbacPolicy.PROJECT).first() or RbacPolicy()
    present = {role["role_id"] for role in row.roles}
    defaults = [
        {"role_id": role_id, "description": description, "permissions": []}
        for role_id, description in DEFAULT_ROLES.items()
        if role_id not in present
    ]
    return {"resources": row.resources, "roles": defaults + row.roles, "scopes": row.scopes}


def project_policy() -> dict[str, Any]:
    """The project policy as the SDKs parse it, default roles included (shared: never modify)."""
    return _cache.fetch("project", _load_project)


def organization_roles(organization_id: str) -> list[dict[str, Any]]:
    """The roles ``organization_id``'s policy adds (empty when it has none)."""

    def load() -> list[dict[str, Any]]:
        row = OrganizationRbacPolicy.objects.filter(
            organization__organization_id=organization_id
        ).first()
        return list(row.roles) if row is not None else []

    return _cache.fetch(("organization", organization_id), load)


def project_role_ids() -> set[str]:
    """Every role id the project defines, ``TRUSTED_AUTH["ROLES"]`` (deprecated) included."""
    return {role["role_id"] for role in project_policy()["roles"]} | set(
        trusted_auth_settings.ROLES
    )


def defined_role_ids(organization_id: str | None = None) -> set[str]:
    """The role ids assignable to a member of ``organization_id`` (or to anyone, when None)."""
    ids = project_role_ids()
    if organization_id:
        ids |= {role["role_id"] for role in organization_roles(organization_id)}
    return ids


def all_role_ids() -> set[str]:
    """The project's role ids and every organization's (what a profile may list as grantable)."""
    ids = project_role_ids()
    for roles in OrganizationRbacPolicy.objects.values_list("roles", flat=True):
        ids |= {role["role_id"] for role in roles}
    return ids


def set_project_policy(document: Any, *, context: RequestContext | None = None) -> dict[str, Any]:
    """Replace the project policy with ``document`` (validated whole first); audited, and
    ``rbac_policy_changed`` is sent after the commit."""
    policy = validate_policy(document)
    with transaction.atomic():
        RbacPolicy.objects.update_or_create(name=RbacPolicy.PROJECT, defaults=policy)
        record_change(
            "rbac_policy_set",
            detail=(
                f"{len(policy['resources'])} resources, {len(policy['roles'])} roles, "
                f"{len(policy['scopes'])} scopes"
            ),
            context=context,
        )
        transaction.on_commit(
            lambda: signals.rbac_policy_changed.send(
                sender=RbacPolicy, organization=None, policy=policy
            )
        )
    return policy


def set_organization_policy(
    organization: Organization, document: Any, *, context: RequestContext | None = None
) -> list[dict[str, Any]]:
    """Replace ``organization``'s roles with ``document["roles"]``; audited and signalled."""
    roles = validate_org_roles(document)
    with transaction.atomic():
        OrganizationRbacPolicy.objects.update_or_create(
            organization=organization, defaults={"roles": roles}
        )
        record_change(
            "rbac_org_policy_set",
            organization_id=organization.organization_id,
            detail=f"{len(roles)} roles: {', '.join(r['role_id'] for r in roles)}",
            context=context,
        )
        transaction.on_commit(
            lambda: signals.rbac_policy_changed.send(
                sender=OrganizationRbacPolicy,
                organization=organization,
                policy={"roles": roles},
            )
        )
    return roles
