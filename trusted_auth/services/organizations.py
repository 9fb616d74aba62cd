"""B2B organizations and members: create, list, and resolve them for an attest (DESIGN.md §5)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.text import slugify

from trusted_auth.conf import trusted_auth_settings
from trusted_auth.errors import BadRequest, OrganizationNotFound, TrustedAuthError
from trusted_auth.models import Member, Organization, TrustedAuthTokenProfile
from trusted_auth.timeutil import rfc3339

from .verification import claims_rejected


def _normalise_domains(domains: list[str] | None) -> list[str]:
    return sorted({d.strip().lower().lstrip("@") for d in domains or [] if d.strip()})


def normalise_domains(domains: list[str] | None) -> list[str]:
    """Email domains as ``email_allowed_domains`` stores them: lower case, no ``@``, sorted."""
    return _normalise_domains(domains)


def create_organization(
    *,
    name: str,
    slug: str = "",
    external_id: str = "",
    email_allowed_domains: list[str] | None = None,
) -> Organization:
    organization = Organization(
        name=name,
        slug=slug or slugify(name),
        external_id=external_id,
        email_allowed_domains=_normalise_domains(email_allowed_domains),
    )
    try:
        organization.full_clean()
        organization.save()
    except ValidationError as e:
        raise BadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in e.message_dict.items())) from e
    return organization


def find_organization(reference: str) -> Organization | None:
    """An organization by its id, its slug or its external id."""
    return Organization.objects.filter(
        Q(organization_id=reference)
        | Q(slug=reference)
        | (Q(external_id=reference) & ~Q(external_id=""))
    ).first()


def get_organization(reference: Any) -> Organization:
    if not isinstance(reference, str) or not reference:
        raise BadRequest("organization_id is required")
    organization = find_organization(reference)
    if organization is None:
        raise OrganizationNotFound(f"no organization {reference[:80]!r}")
    return organization


def create_member(
    *,
    organization: Organization,
    email: str,
    name: str = "",
    external_id: str = "",
    roles: list[str] | None = None,
) -> Member:
    validate_roles(roles or [])
    member = Member(
        organization=organization,
        email=email,
        name=name,
        external_id=external_id,
        roles=roles or [],
    )
    try:
        member.full_clean()
        with transaction.atomic():
            member.save()
    except ValidationError as e:
        raise BadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in e.message_dict.items())) from e
    except IntegrityError as e:
        raise BadRequest(f"{email} is already a member of {organization.slug}") from e
    return member


def validate_roles(role_ids: list[str]) -> list[str]:
    """Roles must be ones the project defines in ``TRUSTED_AUTH["ROLES"]``; never silently
    dropped."""
    known = set(trusted_auth_settings.ROLES)
    unknown = [role for role in role_ids if role not in known]
    if unknown:
        raise claims_rejected(
            f"unknown role_ids: {', '.join(sorted(unknown))[:200]} "
            f"(this project defines: {', '.join(sorted(known))})"
        )
    return role_ids


def resolve_organization(
    profile: TrustedAuthTokenProfile, requested: Any, claimed: str | None
) -> Organization:
    """The one organization an attest is for, from the request and/or the token's claim.

    Neither → 400. Both → they must name the same organization (a token for org A can never open
    a session in org B). A claim naming no organization may create it, when the profile allows
    JIT organization creation and the request named none.
    """
    if requested is None and claimed is None:
        raise BadRequest("organization_id is required: pass it or map it from a token claim")
    from_request = get_organization(requested) if requested is not None else None
    from_claim = find_organization(claimed) if claimed is not None else None
    if from_request is not None and claimed is not None:
        if from_claim is None or from_claim.pk != from_request.pk:
            raise TrustedAuthError(
                "the token's organization does not match the requested organization_id",
                error_type="organization_mismatch",
            )
        return from_request
    if from_request is not None:
        return from_request
    if from_claim is not None:
        return from_claim
    if not profile.can_jit_create_organizations:
        raise OrganizationNotFound(f"no organization {claimed[:80]!r}")
    try:
        with transaction.atomic():
            return Organization.objects.create(
                name=claimed, slug=slugify(claimed)[:128] or "organization", external_id=claimed
            )
    except IntegrityError:
        organization = find_organization(claimed)
        if organization is None:
            raise BadRequest(f"cannot create an organization for {claimed[:80]!r}") from None
        return organization


def organization_as_dict(organization: Organization) -> dict[str, Any]:
    return {
        "organization_id": organization.organization_id,
        "name": organization.name,
        "slug": organization.slug,
        "external_id": organization.external_id,
        "email_allowed_domains": organization.email_allowed_domains,
        "created_at": rfc3339(organization.created_at),
    }


def member_as_dict(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "organization_id": member.organization.organization_id,
        "email": member.email,
        "name": member.name,
        "external_id": member.external_id,
        "roles": member.roles,
        "status": member.status,
        "created_at": rfc3339(member.created_at),
    }


def list_members(organization: Organization) -> list[Member]:
    return list(Member.objects.select_related("organization").filter(organization=organization))
