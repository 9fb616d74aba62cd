"""Stytch B2B shapes: ``member``, ``organization`` and ``member_session`` as the SDK parses them."""

from __future__ import annotations

from typing import Any

from trusted_auth.models import Member, Organization, Session
from trusted_auth.sessions.session_jwt import session_claim
from trusted_auth.timeutil import rfc3339


def organization_shape(organization: Organization) -> dict[str, Any]:
    return {
        "organization_id": organization.organization_id,
        "organization_name": organization.name,
        "organization_slug": organization.slug,
        "organization_logo_url": "",
        "email_allowed_domains": organization.email_allowed_domains,
        "email_jit_provisioning": "RESTRICTED"
        if organization.email_allowed_domains
        else "NOT_ALLOWED",
        "sso_jit_provisioning": "NOT_ALLOWED",
        "sso_jit_provisioning_allowed_connections": [],
        "sso_active_connections": [],
        "email_invites": "ALL_ALLOWED",
        "auth_methods": "ALL_ALLOWED",
        "allowed_auth_methods": [],
        "mfa_policy": "OPTIONAL",
        "rbac_email_implicit_role_assignments": list(
            organization.rbac_email_implicit_role_assignments or []
        ),
        "mfa_methods": "ALL_ALLOWED",
        "allowed_mfa_methods": [],
        "oauth_tenant_jit_provisioning": "NOT_ALLOWED",
        "claimed_email_domains": [],
        "first_party_connected_apps_allowed_type": "ALL_ALLOWED",
        "allowed_first_party_connected_apps": [],
        "third_party_connected_apps_allowed_type": "ALL_ALLOWED",
        "allowed_third_party_connected_apps": [],
        "custom_roles": [],
        "trusted_metadata": organization.trusted_metadata,
        "organization_external_id": organization.external_id or None,
        "created_at": rfc3339(organization.created_at),
        "updated_at": rfc3339(organization.updated_at),
    }


def member_shape(member: Member) -> dict[str, Any]:
    return {
        "organization_id": member.organization.organization_id,
        "member_id": member.member_id,
        "email_address": member.email,
        "status": member.status,
        "name": member.name,
        "external_id": member.external_id or None,
        "roles": [
            {"role_id": role, "sources": [{"type": "direct_assignment", "details": {}}]}
            for role in member.roles
        ],
        "sso_registrations": [],
        "oauth_registrations": [],
        "retired_email_addresses": [],
        "is_breakglass": False,
        "member_password_id": "",
        "email_address_verified": True,
        "mfa_phone_number_verified": False,
        "is_admin": "stytch_admin" in member.roles,
        "totp_registration_id": "",
        "is_locked": False,
        "mfa_enrolled": False,
        "mfa_phone_number": "",
        "default_mfa_method": "",
        "trusted_metadata": member.trusted_metadata,
        "untrusted_metadata": {},
        "created_at": rfc3339(member.created_at),
        "updated_at": rfc3339(member.updated_at),
    }


def member_session_shape(session: Session) -> dict[str, Any]:
    claim = session_claim(session)
    member, organization = session.member, session.organization
    assert member is not None and organization is not None, "not a member session"
    return {
        "member_session_id": claim["id"],
        "member_id": member.member_id,
        "organization_id": organization.organization_id,
        "organization_slug": organization.slug,
        "started_at": claim["started_at"],
        "last_accessed_at": claim["last_accessed_at"],
        "expires_at": claim["expires_at"],
        "authentication_factors": claim["authentication_factors"],
        "roles": session.roles,
        "custom_claims": session.custom_claims,
    }
